package engine

import (
	"sync"
)

// runQueue is the FIFO of sources whose ring has blocks waiting. A source
// is in it at most once (its scheduled flag), and a worker that drained a
// few blocks puts a still-busy source at the back, so one busy source
// cannot starve the others.
type runQueue struct {
	mu     sync.Mutex
	items  []*sourceRun
	wake   chan struct{} // 1-buffered: "items may be non-empty"
	closed bool
}

func newRunQueue() *runQueue { return &runQueue{wake: make(chan struct{}, 1)} }

func (q *runQueue) put(s *sourceRun) {
	q.mu.Lock()
	q.items = append(q.items, s)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the next source, waiting for one; nil once the queue is
// closed and empty.
func (q *runQueue) take() *sourceRun {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			s := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				// Pass the wake-up on so another idle worker takes the rest.
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}
			return s
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			// Let the other workers see the close too.
			select {
			case q.wake <- struct{}{}:
			default:
			}
			return nil
		}
		<-q.wake
	}
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
