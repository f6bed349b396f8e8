package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
	"github.com/tinywatcher/tinywatcher/sink"
)

// memSource replays a byte slice in random-sized chunks, then ends.
type memSource struct {
	name  string
	data  []byte
	seed  uint64
	stats *ingest.Stats
}

func (s *memSource) Kind() ingest.Kind { return ingest.KindFile }
func (s *memSource) Name() string      { return s.name }
func (s *memSource) Run(ctx context.Context, out ingest.Emitter) error {
	f := ingest.NewFramer(out, 0, s.stats)
	defer f.Close()
	rng := rand.New(rand.NewPCG(s.seed, 1))
	data := s.data
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(8192))
		if _, err := f.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if rng.IntN(4) == 0 {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	return f.End()
}

// countingDest records every alert it is sent, optionally slowly.
type countingDest struct {
	mu     sync.Mutex
	alerts []sink.Alert
	delay  time.Duration
}

func (d *countingDest) Send(ctx context.Context, batch []sink.Alert) error {
	if d.delay > 0 {
		select {
		case <-time.After(d.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	d.alerts = append(d.alerts, batch...)
	d.mu.Unlock()
	return nil
}

func (d *countingDest) byRule() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[string]int{}
	for _, a := range d.alerts {
		m[a.Rule] += 1
	}
	return m
}

var testRules = []config.Rule{
	{Name: "db", Pattern: `OperationalError: (could not connect|timeout)`},
	{Name: "oom", Text: "Out of memory", IgnoreCase: true},
	{Name: "5xx", Pattern: `" 5\d\d `},
	{Name: "auth", Text: "authentication failed"},
	{Name: "panic", Pattern: `^panic: `},
}

// genLog writes lines of which 5 in every `every` (on average) match one
// of testRules.
func genLogRate(rng *rand.Rand, lines, every int) []byte {
	var b strings.Builder
	for i := range lines {
		switch rng.IntN(every) {
		case 0:
			fmt.Fprintf(&b, "%d ERROR psycopg2.OperationalError: could not connect\n", i)
		case 1:
			fmt.Fprintf(&b, "%d kernel: out of MEMORY: Kill process %d\n", i, rng.IntN(9999))
		case 2:
			fmt.Fprintf(&b, "10.0.0.%d - - \"GET /api HTTP/1.1\" 50%d 12\n", rng.IntN(255), rng.IntN(10))
		case 3:
			fmt.Fprintf(&b, "panic: runtime error: index out of range [%d]\n", i)
		case 4:
			fmt.Fprintf(&b, "%d sshd: authentication failed for root\n", i)
		default:
			fmt.Fprintf(&b, "%d INFO request ok status=200 error_count=0 took=%dms\n", i, rng.IntN(900))
		}
	}
	return []byte(b.String())
}

// genLog is a log with one matching line in eight, to exercise rule state.
func genLog(rng *rand.Rand, lines int) []byte { return genLogRate(rng, lines, 40) }

func testConfig(rules []config.Rule, cooldown time.Duration) *config.Config {
	cfg := &config.Config{Identity: config.Identity{Name: "test"}, Alerts: map[string]config.Alert{"out": {Name: "out", Type: "stdout"}}}
	for _, r := range rules {
		r.Alert = config.StringList{"out"}
		r.Cooldown = config.Duration(cooldown)
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg
}

// naiveCounts counts per-rule matches of data with the reference matcher.
func naiveCounts(t *testing.T, prog *match.Program, data [][]byte) []uint64 {
	t.Helper()
	n, err := prog.NewNaive()
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]uint64, prog.NumRules())
	for _, d := range data {
		n.Scan(d, nil, func(_ []byte, rules match.Bits) { rules.Each(func(i int) { counts[i]++ }) })
	}
	return counts
}

// TestPipelineExactUnderConcurrency: many sources × many workers × a slow
// destination; every rule's match count equals the naive count, and with
// no cooldown every match is delivered exactly once.
func TestPipelineExactUnderConcurrency(t *testing.T) {
	const sources, workers = 6, 4
	rng := rand.New(rand.NewPCG(7, 7))
	cfg := testConfig(testRules, 0)
	var srcs []ingest.Source
	var stats []*ingest.Stats
	var data [][]byte
	for i := range sources {
		d := genLog(rng, 1500)
		data = append(data, d)
		st := new(ingest.Stats)
		srcs = append(srcs, &memSource{name: fmt.Sprintf("src%d", i), data: d, seed: uint64(i), stats: st})
		stats = append(stats, st)
	}
	dest := &countingDest{delay: time.Millisecond}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{QueueSize: 1 << 16, BatchSize: 64})
	p, err := New(cfg, srcs, stats, Options{Workers: workers, Ring: 2, Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := naiveCounts(t, p.Program(), data)
	got := dest.byRule()
	for i, r := range cfg.Rules {
		if p.RuleMatches(i) != want[i] {
			t.Errorf("rule %s: %d matches, naive %d", r.Name, p.RuleMatches(i), want[i])
		}
		if uint64(got[r.Name]) != want[i] {
			t.Errorf("rule %s: %d alerts delivered, want %d", r.Name, got[r.Name], want[i])
		}
	}
}

// TestPipelineCooldownOncePerWindow: every source matches the same rule
// concurrently; with a cooldown longer than the run exactly one alert goes
// out, carrying no suppressed count, and every other match is suppressed.
func TestPipelineCooldownOncePerWindow(t *testing.T) {
	cfg := testConfig(testRules[:1], time.Hour)
	var srcs []ingest.Source
	var stats []*ingest.Stats
	line := []byte(strings.Repeat("ERROR OperationalError: timeout\n", 2000))
	for i := range 8 {
		st := new(ingest.Stats)
		srcs = append(srcs, &memSource{name: fmt.Sprintf("s%d", i), data: line, seed: uint64(i), stats: st})
		stats = append(stats, st)
	}
	dest := &countingDest{}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{})
	p, err := New(cfg, srcs, stats, Options{Workers: 4, Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := dest.byRule()["db"]; n != 1 {
		t.Fatalf("%d alerts, want exactly 1 in the cooldown window", n)
	}
	if m := p.RuleMatches(0); m != 8*2000 {
		t.Fatalf("%d matches, want %d", m, 8*2000)
	}
	if s := p.rules[0].state.suppressed.Load(); s != 8*2000-1 {
		t.Fatalf("suppressed = %d, want %d", s, 8*2000-1)
	}
}

func TestSourceMask(t *testing.T) {
	rules := []config.Rule{
		{Name: "all"},
		{Name: "nginx", Sources: &config.Sources{Files: []string{"/var/log/nginx/*.log"}}},
		{Name: "api", Sources: &config.Sources{Containers: []string{"api"}, Streams: []string{"azure"}}},
		{Name: "none", Sources: &config.Sources{}},
	}
	f := func(kind ingest.Kind, name string, want ...string) {
		t.Helper()
		m := SourceMask(rules, kind, name)
		var got []string
		m.Each(func(i int) { got = append(got, rules[i].Name) })
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("mask(%s %s) = %v, want %v", kind, name, got, want)
		}
	}
	f(ingest.KindFile, "/var/log/nginx/error.log", "all", "nginx")
	f(ingest.KindFile, "/var/log/app.log", "all")
	f(ingest.KindContainer, "api", "all", "api")
	f(ingest.KindStream, "azure", "all", "api")
	f(ingest.KindStream, "api", "all")
}

// TestOversizedLineMatchedOnItsStart: a 10 MiB line is matched on its
// first MaxLine bytes and counted; what follows it is intact.
func TestOversizedLineMatchedOnItsStart(t *testing.T) {
	cfg := testConfig(testRules, 0)
	huge := "panic: runtime error " + strings.Repeat("x", 10<<20) + " Out of memory\n"
	data := []byte("INFO before\n" + huge + "sshd: authentication failed for root\n")
	st := new(ingest.Stats)
	dest := &countingDest{}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{})
	p, err := New(cfg, []ingest.Source{&memSource{name: "big", data: data, stats: st}}, []*ingest.Stats{st}, Options{Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := dest.byRule()
	if got["panic"] != 1 || got["auth"] != 1 || got["oom"] != 0 {
		t.Fatalf("alerts by rule %v: want panic (start of the long line) and auth (the line after), not oom (past the bound)", got)
	}
	if st.Oversized.Load() != 1 {
		t.Fatalf("oversized = %d, want 1", st.Oversized.Load())
	}
	for _, a := range dest.alerts {
		if len(a.Line) > 4096 {
			t.Fatalf("alert carries a %d-byte line; alerts copy at most MaxAlertLine bytes", len(a.Line))
		}
	}
}
