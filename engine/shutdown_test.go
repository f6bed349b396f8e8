package engine

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

func TestMain(m *testing.M) {
	// ants starts a default pool at init whose janitors live forever; the
	// pipeline's own pool is released (and waited for) by Run.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
}

// endlessSource emits the same block of lines until ctx ends, like a busy
// followed file.
type endlessSource struct {
	name    string
	chunk   []byte
	emitted atomic.Int64
}

func (s *endlessSource) Kind() ingest.Kind { return ingest.KindFile }
func (s *endlessSource) Name() string      { return s.name }
func (s *endlessSource) Run(ctx context.Context, out ingest.Emitter) error {
	f := ingest.NewFramer(out, 0, nil)
	defer f.Close()
	for ctx.Err() == nil {
		if _, err := f.Write(s.chunk); err != nil {
			return err
		}
		if err := f.Flush(); err != nil {
			return err
		}
		s.emitted.Add(1)
	}
	return nil
}

// blackHole accepts a batch and never answers until its context ends.
type blackHole struct{ calls atomic.Int64 }

func (b *blackHole) Send(ctx context.Context, _ []sink.Alert) error {
	b.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestMemoryBoundedWhileDestinationDown: every line alerts (cooldown 0)
// into a destination that never answers. Matching goes on at full speed
// and memory stays bounded: the queue holds QueueSize alerts and the rest
// are coalesced and counted as dropped.
func TestMemoryBoundedWhileDestinationDown(t *testing.T) {
	cfg := testConfig(testRules[:1], 0)
	line := "ERROR OperationalError: timeout " + strings.Repeat("x", 200) + "\n"
	var srcs []ingest.Source
	var stats []*ingest.Stats
	var ends []*endlessSource
	for i := range 4 {
		s := &endlessSource{name: fmt.Sprintf("s%d", i), chunk: []byte(strings.Repeat(line, 64))}
		ends = append(ends, s)
		srcs = append(srcs, s)
		stats = append(stats, new(ingest.Stats))
	}
	dest := &blackHole{}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{QueueSize: 1000, SendTimeout: time.Hour, MaxAttempts: 1})
	p, err := New(cfg, srcs, stats, Options{Workers: 2, Dispatcher: disp, DrainTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// The baseline is taken once the pipeline runs (matchers compiled,
	// rings and the alert queue full); then far more alerts than the queue
	// holds go by while the heap is measured.
	wantAlerts := uint64(200_000)
	if raceEnabled {
		wantAlerts = 20_000
	}
	for p.Stats().Alerts.Load() < 5000 {
		time.Sleep(5 * time.Millisecond)
	}
	before := heapInUse()
	var peak uint64
	for p.Stats().Alerts.Load() < wantAlerts {
		time.Sleep(20 * time.Millisecond)
		peak = max(peak, heapInUse())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := disp.Stats()["out"]
	alerts := p.Stats().Alerts.Load()
	t.Logf("alerts %d, dropped %d, abandoned %d, heap before %d KiB, peak %d KiB", alerts, st.Dropped, st.Abandoned, before>>10, peak>>10)
	if st.Dropped < alerts-2000 {
		t.Errorf("dropped %d of %d alerts; the rest cannot all have fit in a queue of 1000", st.Dropped, alerts)
	}
	// 200k alerts of ~250 bytes would take ~50 MiB if they were kept. The
	// race detector's own allocations make the heap meaningless there, and
	// its 20k alerts would not tell bounded from unbounded anyway.
	if growth := int64(peak) - int64(before); !raceEnabled && growth > 16<<20 {
		t.Errorf("heap grew by %d MiB while the destination was down", growth>>20)
	}
}

// TestShutdownDrainsAndStops: on cancel, following sources stop, the blocks
// already read are matched, the alerts are flushed, and nothing leaks
// (goleak in TestMain).
func TestShutdownDrainsAndStops(t *testing.T) {
	cfg := testConfig(testRules[:2], 0)
	s := &endlessSource{name: "busy", chunk: []byte("INFO ok\nkernel: Out of memory: Kill process 1\n")}
	dest := &countingDest{delay: time.Millisecond}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{QueueSize: 1 << 20})
	p, err := New(cfg, []ingest.Source{s}, []*ingest.Stats{new(ingest.Stats)}, Options{Workers: 2, Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for s.emitted.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// Every block the source handed over was matched and alerted on.
	if got, want := uint64(len(dest.alerts)), p.RuleMatches(1); got != want {
		t.Fatalf("%d alerts delivered for %d matches", got, want)
	}
	if p.RuleMatches(1) < uint64(s.emitted.Load()) {
		t.Fatalf("%d matches for %d blocks emitted", p.RuleMatches(1), s.emitted.Load())
	}
}
