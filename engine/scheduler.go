package engine

import (
	"sync"
)

// runQueue is the FIFO of sources whose ring has blocks waiting. A source
// is in it at most once (its scheduled flag), and a worker that drained a
// few blocks puts a still-busy source at the back, so one busy source
// cannot starve the others. The FIFO is a circular buffer that only grows
// (to the number of sources), so steady state allocates nothing.
type runQueue struct {
	mu     sync.Mutex
	buf    []*sourceRun
	head   int
	n      int
	wake   chan struct{} // 1-buffered: "items may be waiting"
	closed bool
}

func newRunQueue() *runQueue {
	return &runQueue{buf: make([]*sourceRun, 16), wake: make(chan struct{}, 1)}
}

func (q *runQueue) put(s *sourceRun) {
	q.mu.Lock()
	if q.n == len(q.buf) {
		grown := make([]*sourceRun, 2*len(q.buf))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = s
	q.n++
	q.mu.Unlock()
	q.signal()
}

func (q *runQueue) signal() {
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
		if q.n > 0 {
			s := q.buf[q.head]
			q.buf[q.head] = nil
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			more := q.n > 0
			q.mu.Unlock()
			if more {
				// Pass the wake-up on so another idle worker takes the rest.
				q.signal()
			}
			return s
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			// Let the other workers see the close too.
			q.signal()
			return nil
		}
		<-q.wake
	}
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}
