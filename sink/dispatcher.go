package sink

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Options tune a Dispatcher; zero values take defaults.
type Options struct {
	QueueSize     int           // alerts held per destination; default 1024
	BatchSize     int           // alerts per Send; default 20
	BatchInterval time.Duration // longest wait to fill a batch; default 0 (send at once)
	Logger        *slog.Logger
}

// Dispatcher fans alerts out to destinations, one queue and sender each.
type Dispatcher struct {
	opt    Options
	queues map[string]*queue
	wg     sync.WaitGroup
}

type queue struct {
	name string
	dest Destination
	mu   sync.Mutex
	buf  []Alert
	work chan struct{}
	stop chan struct{}
}

// NewDispatcher starts one sender per destination, keyed by alert name.
func NewDispatcher(dests map[string]Destination, opt Options) *Dispatcher {
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1024
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	d := &Dispatcher{opt: opt, queues: make(map[string]*queue, len(dests))}
	for name, dest := range dests {
		q := &queue{name: name, dest: dest, work: make(chan struct{}, 1), stop: make(chan struct{})}
		d.queues[name] = q
		d.wg.Add(1)
		go d.run(q)
	}
	return d
}

// Enqueue queues a for a.AlertName. It never blocks.
func (d *Dispatcher) Enqueue(a Alert) {
	q := d.queues[a.AlertName]
	if q == nil {
		d.opt.Logger.Error("BUG: alert for unknown destination", "alert", a.AlertName)
		return
	}
	q.mu.Lock()
	if len(q.buf) < d.opt.QueueSize {
		q.buf = append(q.buf, a)
	}
	q.mu.Unlock()
	select {
	case q.work <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) run(q *queue) {
	defer d.wg.Done()
	for {
		select {
		case <-q.work:
		case <-q.stop:
			d.drain(q)
			return
		}
		d.drain(q)
	}
}

func (d *Dispatcher) drain(q *queue) {
	for {
		q.mu.Lock()
		n := min(len(q.buf), d.opt.BatchSize)
		batch := append([]Alert(nil), q.buf[:n]...)
		q.buf = q.buf[n:]
		q.mu.Unlock()
		if n == 0 {
			return
		}
		if err := q.dest.Send(context.Background(), batch); err != nil {
			d.opt.Logger.Warn("cannot send alerts", "destination", q.name, "alerts", n, "err", err)
		}
	}
}

// Close stops the senders after they flushed their queues, or when ctx
// ends, whichever is first.
func (d *Dispatcher) Close(ctx context.Context) error {
	for _, q := range d.queues {
		close(q.stop)
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
