package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/tinywatcher/tinywatcher/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeDest records every attempt; fn, when set, decides its outcome.
type fakeDest struct {
	mu       sync.Mutex
	attempts []time.Time
	batches  [][]Alert // accepted batches
	fn       func(ctx context.Context, call int, batch []Alert) error
}

func (f *fakeDest) Send(ctx context.Context, batch []Alert) error {
	f.mu.Lock()
	f.attempts = append(f.attempts, time.Now())
	call := len(f.attempts)
	cp := append([]Alert(nil), batch...)
	f.mu.Unlock()
	if f.fn != nil {
		if err := f.fn(ctx, call, cp); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.batches = append(f.batches, cp)
	f.mu.Unlock()
	return nil
}

func (f *fakeDest) accepted() []Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []Alert
	for _, b := range f.batches {
		all = append(all, b...)
	}
	return all
}

func (f *fakeDest) gaps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(f.attempts); i++ {
		g = append(g, f.attempts[i].Sub(f.attempts[i-1]))
	}
	return g
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func alertN(dest, rule string, i int) Alert {
	return Alert{Time: time.Unix(1700000000, 0), Identity: "host-1", Rule: rule, Line: fmt.Sprintf("line %d", i), AlertName: dest}
}

func mustClose(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestBatchInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{BatchSize: 10, BatchInterval: 5 * time.Second, Logger: quietLogger()})
		start := time.Now()
		for i := range 3 {
			d.Enqueue(alertN("a", "r", i))
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if n := len(f.accepted()); n != 0 {
			t.Fatalf("after 4s of a 5s batch interval: %d alerts sent, want 0", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(f.accepted()); n != 3 {
			t.Fatalf("after the batch interval: %d alerts sent, want 3", n)
		}
		if got := f.attempts[0].Sub(start); got != 5*time.Second {
			t.Fatalf("batch sent after %v, want 5s", got)
		}
		// A full batch goes at once.
		for i := range 10 {
			d.Enqueue(alertN("a", "r", i))
		}
		synctest.Wait()
		if len(f.batches) != 2 || len(f.batches[1]) != 10 {
			t.Fatalf("a full batch was not sent at once: %d batches", len(f.batches))
		}
		mustClose(t, d)
	})
}

func TestBatchSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &fakeDest{fn: func(_ context.Context, call int, _ []Alert) error {
			if call == 1 {
				<-release
			}
			return nil
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{BatchSize: 20, Logger: quietLogger()})
		d.Enqueue(alertN("a", "r", 0))
		synctest.Wait() // the first send blocks
		for i := range 45 {
			d.Enqueue(alertN("a", "r", i+1))
		}
		close(release)
		mustClose(t, d)
		var sizes []int
		for _, b := range f.batches {
			sizes = append(sizes, len(b))
		}
		if fmt.Sprint(sizes) != "[1 20 20 5]" {
			t.Fatalf("batch sizes %v, want [1 20 20 5]", sizes)
		}
		st := d.Stats()["a"]
		if st.Sent != 46 || st.Batches != 4 || st.QueueLen != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

var errDown = errors.New("connection refused")

func TestBackoffGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{fn: func(context.Context, int, []Alert) error { return errDown }}
		var onSend []string
		opt := Options{RetryBase: time.Second, RetryMax: 8 * time.Second, MaxAttempts: 6, Logger: quietLogger(),
			OnSend: func(_ context.Context, dest string, attempt, n int, err error) {
				onSend = append(onSend, fmt.Sprintf("%s/%d/%d/%v", dest, attempt, n, err != nil))
			}}
		opt.jitter = func(bound time.Duration) time.Duration { return bound } // no jitter: see the bounds
		d := NewDispatcher(map[string]Destination{"a": f}, opt)
		d.Enqueue(alertN("a", "r", 0))
		time.Sleep(time.Hour)
		synctest.Wait()
		if got, want := fmt.Sprint(f.gaps()), "[1s 2s 4s 8s 8s]"; got != want {
			t.Fatalf("backoff %s, want %s", got, want)
		}
		st := d.Stats()["a"]
		if st.Failed != 1 || st.Retried != 5 || st.Sent != 0 {
			t.Fatalf("stats %+v", st)
		}
		if got := strings.Join(onSend, " "); got != "a/1/1/true a/2/1/true a/3/1/true a/4/1/true a/5/1/true a/6/1/true" {
			t.Fatalf("OnSend calls: %s", got)
		}
		mustClose(t, d)
	})
}

func TestBackoffJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dests := map[string]Destination{}
		var fs []*fakeDest
		for i := range 20 {
			f := &fakeDest{fn: func(context.Context, int, []Alert) error { return errDown }}
			fs = append(fs, f)
			dests[fmt.Sprint("d", i)] = f
		}
		d := NewDispatcher(dests, Options{RetryBase: time.Second, RetryMax: 10 * time.Second, MaxAttempts: 8, Logger: quietLogger()})
		for name := range dests {
			d.Enqueue(alertN(name, "r", 0))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		distinct := map[time.Duration]bool{}
		for _, f := range fs {
			g := f.gaps()
			if len(g) != 7 {
				t.Fatalf("%d retries, want 7", len(g))
			}
			for k, gap := range g {
				bound := min(time.Second<<k, 10*time.Second)
				if gap < 0 || gap > bound {
					t.Fatalf("retry %d waited %v, want within [0, %v]", k+1, gap, bound)
				}
				distinct[gap] = true
			}
		}
		if len(distinct) < 10 {
			t.Fatalf("only %d distinct delays over 140 retries: no jitter?", len(distinct))
		}
		mustClose(t, d)
	})
}

func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{fn: func(_ context.Context, call int, _ []Alert) error {
			if call == 1 {
				return fmt.Errorf("cannot send: %w", &RetryAfter{Delay: 30 * time.Second, Err: errors.New("HTTP 429")})
			}
			return nil
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{RetryBase: time.Second, Logger: quietLogger()})
		d.Enqueue(alertN("a", "r", 0))
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := fmt.Sprint(f.gaps()); got != "[30s]" {
			t.Fatalf("waited %s after Retry-After 30s, want [30s]", got)
		}
		if st := d.Stats()["a"]; st.Sent != 1 || st.Retried != 1 {
			t.Fatalf("stats %+v", st)
		}
		mustClose(t, d)
	})
}

func TestPermanentNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{fn: func(context.Context, int, []Alert) error {
			return fmt.Errorf("cannot send: %w", &Permanent{errors.New("HTTP 400")})
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{Logger: quietLogger()})
		d.Enqueue(alertN("a", "r", 0))
		d.Enqueue(alertN("a", "r", 1))
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(f.attempts) != 1 {
			t.Fatalf("%d attempts, want 1", len(f.attempts))
		}
		if st := d.Stats()["a"]; st.Failed != 2 || st.Retried != 0 {
			t.Fatalf("stats %+v", st)
		}
		mustClose(t, d)
	})
}

func TestPartialRetriesRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var second []Alert
		f := &fakeDest{fn: func(_ context.Context, call int, b []Alert) error {
			if call == 1 {
				return &Partial{Sent: 2, Err: errDown}
			}
			second = b
			return nil
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{BatchInterval: time.Second, Logger: quietLogger()})
		for i := range 5 {
			d.Enqueue(alertN("a", "r", i))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(second) != 3 || second[0].Line != "line 2" {
			t.Fatalf("retried %v, want the 3 alerts not sent", second)
		}
		if st := d.Stats()["a"]; st.Sent != 5 {
			t.Fatalf("stats %+v", st)
		}
		mustClose(t, d)
	})
}

func TestCoalesceWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &fakeDest{fn: func(_ context.Context, call int, _ []Alert) error {
			if call == 1 {
				<-release
			}
			return nil
		}}
		d := NewDispatcher(map[string]Destination{"slack": f}, Options{QueueSize: 5, BatchSize: 5, Logger: quietLogger()})
		d.Enqueue(alertN("slack", "first", 0))
		synctest.Wait() // in flight, blocked
		for i := range 5 {
			d.Enqueue(alertN("slack", "fits", i))
		}
		for i := range 1000 {
			rule := "A"
			if i%10 == 0 {
				rule = "B"
			}
			d.Enqueue(alertN("slack", rule, i))
			if n := d.Stats()["slack"].QueueLen; n > 5 {
				t.Fatalf("queue length %d exceeds QueueSize 5", n)
			}
		}
		q := d.queues["slack"]
		q.mu.Lock()
		if len(q.over) != 2 || len(q.buf.buf) != 5 {
			t.Errorf("overflow holds %d rules (want 2), ring of %d alerts (want 5)", len(q.over), len(q.buf.buf))
		}
		q.mu.Unlock()
		if st := d.Stats()["slack"]; st.Dropped != 1000 || st.QueueLen != 5 {
			t.Fatalf("stats while full %+v", st)
		}
		close(release)
		mustClose(t, d)
		all := f.accepted()
		if len(all) != 8 {
			t.Fatalf("sent %d alerts, want 1+5+2 summaries: %v", len(all), all)
		}
		sumB, sumA := all[6], all[7] // B dropped first
		if sumA.Rule != "A" || sumA.Suppressed != 900 || sumA.Line != "900 more alerts of rule A were dropped while slack was unreachable" {
			t.Errorf("summary A = %+v", sumA)
		}
		if sumB.Rule != "B" || sumB.Suppressed != 100 || sumB.Identity != "host-1" || sumB.AlertName != "slack" {
			t.Errorf("summary B = %+v", sumB)
		}
		if st := d.Stats()["slack"]; st.Sent != 8 || st.Dropped != 1000 || st.QueueLen != 0 {
			t.Fatalf("final stats %+v", st)
		}
	})
}

func TestCloseFlushesWithinDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{fn: func(ctx context.Context, _ int, _ []Alert) error {
			select {
			case <-time.After(time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{BatchSize: 1, BatchInterval: time.Minute, Logger: quietLogger()})
		for i := range 10 {
			d.Enqueue(alertN("a", "r", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		if err := d.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if el := time.Since(start); el != 10*time.Second {
			t.Fatalf("flush took %v, want 10 sends of 1s (batch interval skipped)", el)
		}
		if st := d.Stats()["a"]; st.Sent != 10 || st.Abandoned != 0 {
			t.Fatalf("stats %+v", st)
		}
		d.Enqueue(alertN("a", "r", 99))
		if err := d.Close(ctx); err != nil { // idempotent
			t.Fatalf("second Close: %v", err)
		}
		if st := d.Stats()["a"]; st.Dropped != 1 || st.QueueLen != 0 {
			t.Fatalf("alert after Close: stats %+v", st)
		}
	})
}

func TestCloseAbandonsAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDest{fn: func(context.Context, int, []Alert) error { return errDown }}
		ok := &fakeDest{}
		d := NewDispatcher(map[string]Destination{"down": f, "ok": ok}, Options{BatchSize: 2, RetryBase: 10 * time.Second, Logger: quietLogger()})
		for i := range 5 {
			d.Enqueue(alertN("down", "r", i))
			d.Enqueue(alertN("ok", "r", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v, want deadline exceeded", err)
		}
		if el := time.Since(start); el != 5*time.Second {
			t.Fatalf("Close took %v, want the 5s deadline", el)
		}
		st := d.Stats()
		if st["down"].Abandoned != 5 || st["down"].Sent != 0 || st["down"].QueueLen != 0 {
			t.Fatalf("down: %+v", st["down"])
		}
		if st["ok"].Sent != 5 {
			t.Fatalf("ok: %+v", st["ok"])
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestThrottledFailureLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
		f := &fakeDest{fn: func(context.Context, int, []Alert) error { return errDown }}
		opt := Options{RetryBase: time.Second, RetryMax: time.Second, MaxAttempts: 100, LogInterval: 30 * time.Second, Logger: log}
		opt.jitter = func(b time.Duration) time.Duration { return b }
		d := NewDispatcher(map[string]Destination{"a": f}, opt)
		d.Enqueue(alertN("a", "r", 0))
		time.Sleep(65 * time.Second) // attempts at 0,1,…,65s
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d.Close(ctx)
		mu.Lock()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		mu.Unlock()
		// retry logs at 0s, 30s, 60s, then the abandon at Close logs nothing.
		if len(lines) != 3 {
			t.Fatalf("%d log lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
		}
		if !strings.Contains(lines[1], "suppressed_log_messages=29") {
			t.Fatalf("second line lacks the suppressed count: %s", lines[1])
		}
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestTracingSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		f := &fakeDest{fn: func(_ context.Context, call int, _ []Alert) error {
			if call == 1 {
				return errDown
			}
			return nil
		}}
		d := NewDispatcher(map[string]Destination{"a": f}, Options{TracerProvider: tp, Logger: quietLogger()})
		d.Enqueue(alertN("a", "r", 0))
		time.Sleep(time.Minute)
		synctest.Wait()
		mustClose(t, d)
		spans := rec.Ended()
		if len(spans) != 2 {
			t.Fatalf("%d spans, want 2", len(spans))
		}
		if spans[0].Name() != "sink.send" || spans[0].Status().Code.String() != "Error" || spans[1].Status().Code.String() == "Error" {
			t.Fatalf("spans %v %v / %v", spans[0].Name(), spans[0].Status(), spans[1].Status())
		}
		want := attribute.Int("sink.attempt", 2)
		found := false
		for _, kv := range spans[1].Attributes() {
			found = found || kv == want
		}
		if !found {
			t.Fatalf("second span attributes %v lack %v", spans[1].Attributes(), want)
		}
		tp.Shutdown(context.Background())
	})
}

// TestQueueIndependentOfFailedDestination: a destination whose server never
// answers does not delay another one, nor Enqueue.
func TestQueueIndependentOfFailedDestination(t *testing.T) {
	blocked := make(chan struct{})
	var stuck atomic.Int32
	arrived := make(chan struct{}, 1)
	blackHole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stuck.Add(1)
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-blocked:
		case <-r.Context().Done():
		}
	}))
	defer blackHole.Close()
	defer close(blocked)
	const n = 200
	got := make(chan struct{}, n)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer fast.Close()

	opt := DestOptions{Client: &http.Client{Transport: &http.Transport{}}}
	defer opt.Client.CloseIdleConnections()
	hole, err := New(config.Alert{Name: "hole", Type: "webhook", URL: blackHole.URL}, opt)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := New(config.Alert{Name: "fast", Type: "webhook", URL: fast.URL}, opt)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(map[string]Destination{"hole": hole, "fast": ok}, Options{QueueSize: 50, BatchSize: 10, SendTimeout: time.Hour, Logger: quietLogger(),
		OnSend: func(_ context.Context, dest string, _, _ int, err error) {
			if dest == "fast" && err == nil {
				got <- struct{}{}
			}
		}})
	for i := range n {
		d.Enqueue(alertN("hole", "r", i)) // never blocks, though nothing drains it
		d.Enqueue(alertN("fast", "r", i))
		<-got // the fast destination delivers while the other hangs
	}
	<-arrived // the black hole holds its first batch
	st := d.Stats()
	if st["fast"].Sent != n || st["fast"].Dropped != 0 {
		t.Fatalf("fast: %+v", st["fast"])
	}
	if st["hole"].Sent != 0 || st["hole"].QueueLen > 50 || st["hole"].Dropped == 0 || stuck.Load() != 1 {
		t.Fatalf("hole: %+v, %d requests", st["hole"], stuck.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if st := d.Stats()["hole"]; st.Abandoned == 0 || st.Abandoned+st.Dropped != n {
		t.Fatalf("hole after Close: %+v", st)
	}
}

// TestConcurrentEnqueueAndClose: under -race, alerts enqueued from several
// goroutines while Close runs are each either sent or counted as dropped.
func TestConcurrentEnqueueAndClose(t *testing.T) {
	a, b := &fakeDest{}, &fakeDest{}
	d := NewDispatcher(map[string]Destination{"a": a, "b": b}, Options{QueueSize: 10000, BatchSize: 7, Logger: quietLogger()})
	var wg sync.WaitGroup
	const per = 1000
	for g := range 4 {
		wg.Go(func() {
			for i := range per {
				d.Enqueue(alertN([]string{"a", "b"}[g%2], "r", i))
			}
		})
	}
	wg.Go(func() { mustClose(t, d) })
	wg.Wait()
	for name, f := range map[string]*fakeDest{"a": a, "b": b} {
		st := d.Stats()[name]
		if st.Sent+st.Dropped != 2*per || st.Sent != uint64(len(f.accepted())) || st.QueueLen != 0 || st.Abandoned != 0 {
			t.Errorf("%s: %+v, %d delivered", name, st, len(f.accepted()))
		}
	}
}

func BenchmarkEnqueue(b *testing.B) {
	d := NewDispatcher(map[string]Destination{"a": DestinationFunc(func(context.Context, []Alert) error { return nil })},
		Options{QueueSize: 4096, Logger: quietLogger()})
	a := alertN("a", "r", 0)
	b.ReportAllocs()
	for b.Loop() {
		d.Enqueue(a)
	}
	b.StopTimer()
	d.Close(context.Background())
}
