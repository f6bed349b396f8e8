package sink

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// maxRetryAfter caps a service's Retry-After, so that a date far in the
// future (or a typo in a proxy) does not park a destination for days.
const maxRetryAfter = time.Hour

// Options tune a Dispatcher; zero values take defaults.
type Options struct {
	QueueSize int // alerts held per destination; default 1024
	BatchSize int // alerts per Send; default 20
	// BatchInterval is the longest wait to fill a batch after its first
	// alert arrived; default 0 (send at once).
	BatchInterval time.Duration

	RetryBase   time.Duration // first backoff bound; default 1s
	RetryMax    time.Duration // backoff bound cap; default 1m
	MaxAttempts int           // attempts per batch before it counts as failed; default 8
	SendTimeout time.Duration // per attempt; default 10s
	LogInterval time.Duration // at most one failure log line per destination per interval; default 1m

	Logger *slog.Logger

	// OnSend, when set, is called by the destination's sender goroutine
	// after every attempt to send a batch of n alerts to dest (attempt
	// counts from 1; err is nil on success), after Stats counted it. ctx is
	// the attempt's context, carrying its span when TracerProvider is set.
	// It must not block: the engine uses it for metrics.
	OnSend func(ctx context.Context, dest string, attempt int, n int, err error)

	// TracerProvider, when set, gets one span "sink.send" per attempt with
	// the attributes sink.destination, sink.attempt and sink.alerts; the
	// span's context is passed to Destination.Send so HTTP client
	// instrumentation nests under it.
	TracerProvider trace.TracerProvider

	// jitter returns the backoff for an upper bound; tests replace it.
	jitter func(bound time.Duration) time.Duration
}

// DestStats are one destination's counters since NewDispatcher. Alerts
// counts are in alerts, not batches.
type DestStats struct {
	Sent      uint64 // alerts the destination accepted
	Failed    uint64 // alerts given up after MaxAttempts or a Permanent error
	Dropped   uint64 // alerts that did not fit in the queue (coalesced) or came after Close
	Abandoned uint64 // alerts still queued or in flight when Close's context ended
	Retried   uint64 // attempts that were retried
	Batches   uint64 // batches the destination accepted
	QueueLen  int    // alerts waiting now
}

// Dispatcher fans alerts out to destinations, one bounded queue and one
// sender goroutine each, so a slow or dead destination never blocks Enqueue
// nor the other destinations.
//
// When a queue is full, alerts are not queued but counted per rule, and the
// sender later queues one summary alert per rule ("N more alerts of rule R
// were dropped while D was unreachable", Suppressed=N): memory stays bounded
// by QueueSize plus one entry per rule.
type Dispatcher struct {
	opt    Options
	queues map[string]*queue
	tracer trace.Tracer

	closed   atomic.Bool
	stop     chan struct{} // closed by Close: stop accepting, flush
	stopOnce sync.Once
	abortCtx context.Context // cancelled when Close's context ends
	abort    context.CancelFunc
	wg       sync.WaitGroup
}

type overflow struct {
	n    uint64
	last Alert // the newest alert that did not fit: its identity, source
}

type queue struct {
	name string
	dest Destination

	mu      sync.Mutex
	buf     ring
	over    map[string]*overflow // rule -> alerts that did not fit
	overOrd []string             // rules of over, oldest first

	hasWork chan struct{}
	batch   []Alert // reused by the sender

	qlen                                               atomic.Int64
	sent, failed, dropped, abandoned, retried, batches atomic.Uint64

	loggedDropped uint64 // sender only
	failLog       throttle
	dropLog       throttle
}

// NewDispatcher starts one sender per destination, keyed by alert name.
func NewDispatcher(dests map[string]Destination, opt Options) *Dispatcher {
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1024
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 20
	}
	if opt.RetryBase <= 0 {
		opt.RetryBase = time.Second
	}
	if opt.RetryMax <= 0 {
		opt.RetryMax = time.Minute
	}
	if opt.RetryMax < opt.RetryBase {
		opt.RetryMax = opt.RetryBase
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = 10 * time.Second
	}
	if opt.LogInterval <= 0 {
		opt.LogInterval = time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.jitter == nil {
		opt.jitter = fullJitter
	}
	d := &Dispatcher{opt: opt, queues: make(map[string]*queue, len(dests)), stop: make(chan struct{})}
	if opt.TracerProvider != nil {
		d.tracer = opt.TracerProvider.Tracer("github.com/tinywatcher/tinywatcher/sink")
	}
	d.abortCtx, d.abort = context.WithCancel(context.Background())
	for name, dest := range dests {
		q := &queue{
			name:    name,
			dest:    dest,
			buf:     ring{limit: opt.QueueSize},
			over:    make(map[string]*overflow),
			hasWork: make(chan struct{}, 1),
			failLog: throttle{interval: opt.LogInterval},
			dropLog: throttle{interval: opt.LogInterval},
		}
		d.queues[name] = q
		d.wg.Add(1)
		go d.run(q)
	}
	return d
}

// fullJitter is the "full jitter" backoff: uniform in [0, bound].
func fullJitter(bound time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

// backoff returns the wait after a failed attempt (counting from 1):
// full jitter under min(RetryMax, RetryBase·2^(attempt-1)).
func (d *Dispatcher) backoff(attempt int) time.Duration {
	bound := d.opt.RetryMax
	if attempt-1 < 62 {
		if b := d.opt.RetryBase << (attempt - 1); b > 0 && b < bound {
			bound = b
		}
	}
	return d.opt.jitter(bound)
}

// Enqueue queues a for a.AlertName. It never blocks: when the queue is full
// the alert is counted as dropped and later summarised. The Dispatcher owns
// a afterwards. Enqueue is safe for concurrent use.
func (d *Dispatcher) Enqueue(a Alert) {
	q := d.queues[a.AlertName]
	if q == nil {
		d.opt.Logger.Error("BUG: alert for unknown destination", "alert", a.AlertName)
		return
	}
	q.mu.Lock()
	// Checked under q.mu: an alert that passes was queued before the
	// sender's last take (which happens after closed is set), so it is
	// sent or counted as abandoned, never left behind.
	if d.closed.Load() {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	q.moveOverflowLocked()
	if !q.buf.push(a) {
		q.dropped.Add(1)
		o := q.over[a.Rule]
		if o == nil {
			o = &overflow{}
			q.over[a.Rule] = o
			q.overOrd = append(q.overOrd, a.Rule)
		}
		o.n++
		o.last = a
	}
	q.qlen.Store(int64(q.buf.len()))
	q.mu.Unlock()
	select {
	case q.hasWork <- struct{}{}:
	default:
	}
}

// moveOverflowLocked queues one summary alert per rule whose alerts did not
// fit, while there is room.
func (q *queue) moveOverflowLocked() {
	for len(q.overOrd) > 0 && !q.buf.full() {
		rule := q.overOrd[0]
		o := q.over[rule]
		q.overOrd[0] = ""
		q.overOrd = q.overOrd[1:]
		delete(q.over, rule)
		s := o.last
		s.Line = strconv.FormatUint(o.n, 10) + " more alerts of rule " + rule + " were dropped while " + q.name + " was unreachable"
		s.Suppressed = o.n
		q.buf.push(s)
	}
	if len(q.overOrd) == 0 && cap(q.overOrd) > 0 {
		q.overOrd = nil
	}
}

// take moves up to max alerts into q.batch, which stays valid until the
// next take.
func (q *queue) take(max int) []Alert {
	clear(q.batch) // the previous batch's strings
	q.mu.Lock()
	q.batch = q.buf.pop(q.batch[:0], max)
	q.moveOverflowLocked()
	q.qlen.Store(int64(q.buf.len()))
	q.mu.Unlock()
	return q.batch
}

func (q *queue) len() int { return int(q.qlen.Load()) }

// clearQueue empties the queue and returns how many alerts it held.
func (q *queue) clearQueue() int {
	q.mu.Lock()
	n := q.buf.reset()
	q.qlen.Store(0)
	q.mu.Unlock()
	return n
}

func (d *Dispatcher) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

func (d *Dispatcher) run(q *queue) {
	defer d.wg.Done()
	for {
		// Stop wins over work: check it first.
		if d.stopped() {
			d.flush(q)
			return
		}
		select {
		case <-d.stop:
			d.flush(q)
			return
		case <-q.hasWork:
		}
		for q.len() > 0 && !d.stopped() {
			if d.opt.BatchInterval > 0 && q.len() < d.opt.BatchSize {
				if !d.waitBatch(q) {
					break
				}
			}
			batch := q.take(d.opt.BatchSize)
			d.sendBatch(q, batch)
			d.logDrops(q)
		}
	}
}

// waitBatch waits until q holds a full batch or BatchInterval passed; it
// returns false when the dispatcher stops meanwhile.
func (d *Dispatcher) waitBatch(q *queue) bool {
	t := time.NewTimer(d.opt.BatchInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return false
		case <-t.C:
			return true
		case <-q.hasWork:
			if q.len() >= d.opt.BatchSize {
				return true
			}
		}
	}
}

// flush sends what is queued until the queue is empty or Close's context
// ends; what is left then is abandoned.
func (d *Dispatcher) flush(q *queue) {
	for {
		if d.abortCtx.Err() != nil {
			if n := q.clearQueue(); n > 0 {
				q.abandoned.Add(uint64(n))
			}
			d.logDrops(q)
			return
		}
		batch := q.take(d.opt.BatchSize)
		if len(batch) == 0 {
			d.logDrops(q)
			return
		}
		d.sendBatch(q, batch)
	}
}

// sendBatch sends one batch, retrying with backoff, until it is accepted,
// fails for good, or Close's context ends.
func (d *Dispatcher) sendBatch(q *queue, batch []Alert) {
	for attempt := 1; ; attempt++ {
		err := d.attempt(q, batch, attempt)
		if err == nil {
			return
		}
		var part *Partial
		if errors.As(err, &part) && part.Sent > 0 && part.Sent < len(batch) {
			batch = batch[part.Sent:]
		}
		n := len(batch)
		if d.abortCtx.Err() != nil {
			q.abandoned.Add(uint64(n))
			return
		}
		var perm *Permanent
		if errors.As(err, &perm) || attempt >= d.opt.MaxAttempts {
			q.failed.Add(uint64(n))
			if ok, skipped := q.failLog.allow(); ok {
				d.opt.Logger.Error("cannot send alerts; giving up", "destination", q.name, "alerts", n,
					"attempts", attempt, "err", err, "suppressed_log_messages", skipped)
			}
			return
		}
		delay := d.backoff(attempt)
		var ra *RetryAfter
		if errors.As(err, &ra) && ra.Delay > delay {
			delay = min(ra.Delay, maxRetryAfter)
		}
		q.retried.Add(1)
		if ok, skipped := q.failLog.allow(); ok {
			d.opt.Logger.Warn("cannot send alerts; retrying", "destination", q.name, "alerts", n,
				"attempt", attempt, "retry_in", delay, "err", err, "suppressed_log_messages", skipped)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.abortCtx.Done():
			t.Stop()
			q.abandoned.Add(uint64(n))
			return
		}
	}
}

func (d *Dispatcher) attempt(q *queue, batch []Alert, attempt int) error {
	ctx, cancel := context.WithTimeout(d.abortCtx, d.opt.SendTimeout)
	defer cancel()
	var span trace.Span
	if d.tracer != nil {
		ctx, span = d.tracer.Start(ctx, "sink.send", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				attribute.String("sink.destination", q.name),
				attribute.Int("sink.attempt", attempt),
				attribute.Int("sink.alerts", len(batch)),
			))
	}
	err := q.dest.Send(ctx, batch)
	// Count before OnSend, so that what OnSend observes is in Stats.
	if err == nil {
		q.sent.Add(uint64(len(batch)))
		q.batches.Add(1)
	} else if part := (*Partial)(nil); errors.As(err, &part) && part.Sent > 0 && part.Sent < len(batch) {
		q.sent.Add(uint64(part.Sent))
	}
	if span != nil {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	if d.opt.OnSend != nil {
		d.opt.OnSend(ctx, q.name, attempt, len(batch), err)
	}
	return err
}

// logDrops logs, at most once per LogInterval, how many alerts did not fit
// in the queue since the last such line.
func (d *Dispatcher) logDrops(q *queue) {
	dropped := q.dropped.Load()
	if dropped == q.loggedDropped {
		return
	}
	if ok, _ := q.dropLog.allow(); !ok {
		return
	}
	d.opt.Logger.Warn("alert queue full; alerts coalesced into summaries", "destination", q.name,
		"dropped", dropped-q.loggedDropped, "dropped_total", dropped,
		"queue_size", d.opt.QueueSize)
	q.loggedDropped = dropped
}

// Stats returns every destination's counters. It is safe for concurrent
// use and does not block the senders.
func (d *Dispatcher) Stats() map[string]DestStats {
	m := make(map[string]DestStats, len(d.queues))
	for name, q := range d.queues {
		m[name] = DestStats{
			Sent:      q.sent.Load(),
			Failed:    q.failed.Load(),
			Dropped:   q.dropped.Load(),
			Abandoned: q.abandoned.Load(),
			Retried:   q.retried.Load(),
			Batches:   q.batches.Load(),
			QueueLen:  q.len(),
		}
	}
	return m
}

// Close stops accepting alerts (later ones are counted as dropped) and lets
// the senders flush their queues, retries included, until ctx ends; then
// sends in flight are cancelled and what is left is counted as abandoned.
// Close returns after every sender goroutine ended: ctx.Err() when alerts
// were abandoned because of it, else nil. Destinations must return from
// Send when its context is done. Close is safe to call more than once.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.stopOnce.Do(func() {
		d.closed.Store(true)
		close(d.stop)
	})
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.abort()
		return nil
	case <-ctx.Done():
		d.abort()
		<-done
		return ctx.Err()
	}
}
