package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/engine"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
	"github.com/tinywatcher/tinywatcher/sink"
)

// countDestName is the one destination every bench rule alerts to.
const countDestName = "count"

// benchConfig builds, in code, a configuration with rules alerting to the
// counting destination with the given cooldown, reading files.
func benchConfig(rules []match.Rule, cooldown time.Duration, files []string) *config.Config {
	cfg := &config.Config{
		Identity: config.Identity{Name: "bench"},
		Inputs:   config.Inputs{Files: files},
		Alerts:   map[string]config.Alert{countDestName: {Name: countDestName, Type: "webhook", URL: "http://bench.invalid/"}},
	}
	for _, r := range rules {
		cfg.Rules = append(cfg.Rules, config.Rule{
			Name: r.Name, Pattern: r.Pattern, Text: r.Text, IgnoreCase: r.IgnoreCase,
			Alert: config.StringList{countDestName}, Cooldown: config.Duration(cooldown),
		})
	}
	return cfg
}

// countDest is a sink.Destination that counts the alerts it is sent and,
// when onBatch is set, hands each batch to it (with the time Send was
// called) before counting. Send is called from the dispatcher's one
// sender goroutine; the counters may be read from any goroutine.
type countDest struct {
	onBatch func(now time.Time, batch []sink.Alert)

	mu      sync.Mutex
	alerts  int64
	batches int64
}

func (d *countDest) Send(_ context.Context, batch []sink.Alert) error {
	now := time.Now()
	if d.onBatch != nil {
		d.onBatch(now, batch)
	}
	d.mu.Lock()
	d.alerts += int64(len(batch))
	d.batches++
	d.mu.Unlock()
	return nil
}

func (d *countDest) counts() (alerts, batches int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.alerts, d.batches
}

// pipelineRun is what one end-to-end pipeline run did.
type pipelineRun struct {
	Wall      time.Duration
	CPU       time.Duration
	Mallocs   uint64
	Lines     int64 // counted by the sources
	Bytes     int64
	Blocks    uint64
	Fired     uint64  // alerts handed to the dispatcher
	Delivered int64   // alerts the counting destination received
	Dropped   uint64  // alerts the dispatcher dropped or abandoned
	PerRule   []int64 // Pipeline.RuleMatches, by rule index
}

// matchLines is not known to the pipeline (it counts matches per rule);
// total is the sum over rules.
func (r pipelineRun) totalMatches() int64 {
	var n int64
	for _, c := range r.PerRule {
		n += c
	}
	return n
}

// runReplayPipeline runs the whole pipeline (file sources in replay mode →
// rings → workers → rule state → dispatcher → countDest) over files and
// measures Pipeline.Run: wall and CPU time and heap allocations. Building
// the config, compiling the rules and opening nothing is outside the
// measurement; Run includes starting the workers, reading every file to
// its end, and flushing the alerts.
func runReplayPipeline(ctx context.Context, rules []match.Rule, files []string, workers, ring int, cooldown time.Duration, log *slog.Logger) (pipelineRun, error) {
	cfg := benchConfig(rules, cooldown, files)
	srcs := make([]ingest.Source, len(files))
	stats := make([]*ingest.Stats, len(files))
	for i, f := range files {
		stats[i] = new(ingest.Stats)
		srcs[i] = ingest.NewFile(f, ingest.Options{Replay: true, Stats: stats[i], Logger: log})
	}
	dest := &countDest{}
	disp := sink.NewDispatcher(map[string]sink.Destination{countDestName: dest}, sink.Options{Logger: log})
	p, err := engine.New(cfg, srcs, stats, engine.Options{Workers: workers, Ring: ring, Dispatcher: disp, Replay: true, Logger: log})
	if err != nil {
		disp.Close(context.Background())
		return pipelineRun{}, err
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	start := time.Now()
	err = p.Run(ctx)
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&m1)
	r := pipelineRun{Wall: wall, CPU: cpu, Mallocs: m1.Mallocs - m0.Mallocs, Blocks: p.Stats().Blocks.Load(), Fired: p.Stats().Alerts.Load()}
	for _, st := range stats {
		r.Lines += int64(st.Lines.Load())
		r.Bytes += int64(st.Bytes.Load())
	}
	r.PerRule = make([]int64, p.Program().NumRules())
	for i := range r.PerRule {
		r.PerRule[i] = int64(p.RuleMatches(i))
	}
	r.Delivered, _ = dest.counts()
	ds := disp.Stats()[countDestName]
	r.Dropped = ds.Dropped + ds.Abandoned + ds.Failed
	if err == nil {
		err = ctx.Err()
	}
	return r, err
}

// procStatusKiB reads fields such as VmHWM and VmRSS (in KiB) from
// /proc/self/status; missing fields (or another OS) are left out.
func procStatusKiB(fields ...string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if k == want {
				v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					out[k] = n
				}
			}
		}
	}
	return out
}

// warnLogger logs warnings and errors of the pipeline to stderr, so that a
// drop or a failing source is seen, without the info lines.
func warnLogger(env *Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// splitFiles writes data cut into k parts of whole lines, of nearly equal
// size, to files in dir, and returns their paths.
func splitFiles(dir, prefix string, data []byte, k int) ([]string, error) {
	var paths []string
	rest := data
	for i := range k {
		n := len(rest)
		if left := k - i; left > 1 {
			n = len(rest) / left
			if i := bytes.LastIndexByte(rest[:n], '\n'); i >= 0 {
				n = i + 1
			} else if i := bytes.IndexByte(rest[n:], '\n'); i >= 0 {
				n += i + 1 // a long first line: the part ends after it
			} else {
				n = len(rest)
			}
		}
		p := fmt.Sprintf("%s/%s-%03d.log", dir, prefix, i)
		if err := os.WriteFile(p, rest[:n], 0o644); err != nil {
			return nil, fmt.Errorf("cannot write a corpus slice: %w", err)
		}
		paths = append(paths, p)
		rest = rest[n:]
	}
	return paths, nil
}
