package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tinywatcher/tinywatcher/engine"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
	"github.com/tinywatcher/tinywatcher/sink"
)

func init() {
	RegisterMode(Mode{
		Name:  "latency",
		Help:  "time from a line appended to a followed file to its alert reaching the destination, at a steady write rate",
		Run:   runLatencyMode,
		Flags: latencyFlags,
	})
}

// latencyOpt holds the latency mode's own flags.
var latencyOpt struct {
	rate     int
	duration time.Duration
	every    int
	batch    time.Duration
}

func latencyFlags(fs *pflag.FlagSet) {
	fs.IntVar(&latencyOpt.rate, "latency-rate", 100_000, "latency: lines appended per second")
	fs.DurationVar(&latencyOpt.duration, "latency-duration", 10*time.Second, "latency: how long to write")
	fs.IntVar(&latencyOpt.every, "latency-probe-every", 100, "latency: one line in this many is a probe (100: 1%)")
	fs.DurationVar(&latencyOpt.batch, "latency-batch", time.Millisecond, "latency: the writer appends what is due once per this interval, in one write")
}

// probeMarker is in every probe line, and only there; the probe rule
// matches it with no cooldown.
const probeMarker = "LATENCYPROBE"

// LatencyReport is the latency mode's result; --json prints it.
type LatencyReport struct {
	Host
	Workers     int                 `json:"workers"`
	Rate        int                 `json:"rate"` // lines per second asked for
	Seconds     float64             `json:"seconds"`
	ProbeEvery  int                 `json:"probe_every"`
	BatchMillis float64             `json:"batch_ms"`
	Corpus      string              `json:"corpus"` // where the other lines come from
	RuleSets    []LatencyRuleSetRep `json:"rule_sets"`
}

// LatencyRuleSetRep is one run with one rule set plus the probe rule.
type LatencyRuleSetRep struct {
	Name     string `json:"name"`
	NumRules int    `json:"num_rules"` // the set's rules plus the probe rule
	// Mechanism is how the file source noticed growth: file-system events
	// (fsnotify) with a poll as a fallback, or polling alone.
	Mechanism     string  `json:"mechanism"`
	LinesWritten  int64   `json:"lines_written"`
	BytesWritten  int64   `json:"bytes_written"`
	Writes        int64   `json:"writes"`        // write calls
	WriteSeconds  float64 `json:"write_seconds"` // from the first to the last write
	AchievedRate  float64 `json:"achieved_rate"` // lines per second written
	LinesRead     int64   `json:"lines_read"`    // counted by the file source
	AlertsOther   int64   `json:"alerts_other"`  // alerts of the set's own rules (cooldown 60s)
	ProbesSent    int64   `json:"probes_sent"`   //
	ProbesRecv    int64   `json:"probes_received"`
	Duplicates    int64   `json:"duplicates"`
	P50Millis     float64 `json:"p50_ms"`
	P90Millis     float64 `json:"p90_ms"`
	P99Millis     float64 `json:"p99_ms"`
	P999Millis    float64 `json:"p999_ms"`
	MaxMillis     float64 `json:"max_ms"`
	MeanMillis    float64 `json:"mean_ms"`
	CPUSeconds    float64 `json:"cpu_seconds"` // the whole process: writer and pipeline
	Checks        []Check `json:"checks"`
	WarmupSeconds float64 `json:"warmup_seconds"` // until the source was seen to follow the file
}

func runLatencyMode(ctx context.Context, env *Env) error {
	o := latencyOpt
	if o.rate <= 0 || o.duration <= 0 || o.every <= 0 || o.batch <= 0 {
		return fmt.Errorf("--latency-rate, --latency-duration, --latency-probe-every and --latency-batch must be positive")
	}
	sets, err := env.RuleSets()
	if err != nil {
		return err
	}
	path, _, err := env.CorpusFile()
	if err != nil {
		return err
	}
	background, err := backgroundLines(path, 8<<20)
	if err != nil {
		return err
	}
	rep := &LatencyReport{
		Host:    newHost("latency"),
		Workers: env.Opt.Workers,
		Rate:    o.rate, Seconds: o.duration.Seconds(), ProbeEvery: o.every, BatchMillis: float64(o.batch) / 1e6,
		Corpus: fmt.Sprintf("%s (first %d lines, cycled)", path, len(background)),
	}
	if !env.Opt.JSON {
		printLatencyHeader(env.Stdout, rep)
	}
	for _, set := range sets {
		env.Logf("latency rules=%s: writing %d lines/s for %s", set.Name, o.rate, o.duration)
		rs, err := latencyRun(ctx, env, set, background)
		if err != nil {
			return fmt.Errorf("rules=%s: %w", set.Name, err)
		}
		rep.RuleSets = append(rep.RuleSets, *rs)
		if !env.Opt.JSON {
			printLatencySet(env.Stdout, rep, rs)
		}
	}
	if env.Opt.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}

// backgroundLines returns the lines of the first limit bytes of path, each
// with its '\n', leaving out any that holds the probe marker.
func backgroundLines(path string, limit int64) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // a cut last line
		}
		if !bytes.Contains(data[:i], []byte(probeMarker)) {
			lines = append(lines, data[:i+1])
		}
		data = data[i+1:]
	}
	if len(lines) == 0 {
		lines = [][]byte{[]byte("an ordinary line that matches nothing\n")}
	}
	return lines, nil
}

// probeDest records, for each probe alert, the time from the write of its
// line (t= in the line) to Send.
type probeDest struct {
	mu      sync.Mutex
	lat     []int64 // nanoseconds, in arrival order
	seen    map[int64]bool
	dups    int64
	warm    chan struct{} // closed at the first warm-up probe
	warmed  bool
	others  int64
	badLine int64
}

func newProbeDest() *probeDest {
	return &probeDest{seen: map[int64]bool{}, warm: make(chan struct{})}
}

func (d *probeDest) onBatch(now time.Time, batch []sink.Alert) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range batch {
		a := &batch[i]
		if a.Rule != probeMarker {
			d.others++
			continue
		}
		seq, ok1 := probeField(a.Line, "seq=")
		t, ok2 := probeField(a.Line, "t=")
		if !ok1 || !ok2 {
			d.badLine++
			continue
		}
		if seq < 0 { // warm-up
			if !d.warmed {
				d.warmed = true
				close(d.warm)
			}
			continue
		}
		if d.seen[seq] {
			d.dups++
			continue
		}
		d.seen[seq] = true
		d.lat = append(d.lat, now.UnixNano()-t)
	}
}

func (d *probeDest) received() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int64(len(d.seen))
}

// probeField parses the integer after key (" seq=-1", " t=123") in line.
func probeField(line, key string) (int64, bool) {
	i := 0
	for {
		j := strings.Index(line[i:], key)
		if j < 0 {
			return 0, false
		}
		i += j
		if i == 0 || line[i-1] == ' ' {
			break
		}
		i += len(key)
	}
	v := line[i+len(key):]
	end := 0
	for end < len(v) && (v[end] == '-' || v[end] >= '0' && v[end] <= '9') {
		end++
	}
	n, err := strconv.ParseInt(v[:end], 10, 64)
	return n, err == nil
}

// appendProbe appends a probe line with its sequence number and the time
// it is written.
func appendProbe(b []byte, seq, t int64) []byte {
	b = append(b, "2026-01-01T00:00:00Z bench-writer "+probeMarker+" seq="...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, " t="...)
	b = strconv.AppendInt(b, t, 10)
	return append(b, '\n')
}

// logCapture is a slog.Handler that keeps the messages logged at Warn and
// above (to tell whether file events were available) and passes every
// record on to next.
type logCapture struct {
	next slog.Handler
	mu   *sync.Mutex
	msgs *[]string
}

func (h logCapture) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

func (h logCapture) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.msgs = append(*h.msgs, r.Message)
	h.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	h.next = h.next.WithAttrs(as)
	return h
}

func (h logCapture) WithGroup(name string) slog.Handler {
	h.next = h.next.WithGroup(name)
	return h
}

func latencyRun(ctx context.Context, env *Env, set RuleSet, background [][]byte) (*LatencyRuleSetRep, error) {
	o := latencyOpt
	dir, err := os.MkdirTemp("", "tinywatcher-bench-latency-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer w.Close()

	rules := append(append([]match.Rule(nil), set.Rules...), match.Rule{Name: probeMarker, Text: probeMarker})
	cfg := benchConfig(rules, 60*time.Second, []string{path})
	cfg.Rules[len(cfg.Rules)-1].Cooldown = 0
	var logMu sync.Mutex
	var msgs []string
	log := slog.New(logCapture{next: warnLogger(env).Handler(), mu: &logMu, msgs: &msgs})
	st := new(ingest.Stats)
	src := ingest.NewFile(path, ingest.Options{Stats: st, Logger: log})
	pd := newProbeDest()
	dest := &countDest{onBatch: pd.onBatch}
	disp := sink.NewDispatcher(map[string]sink.Destination{countDestName: dest}, sink.Options{Logger: log})
	p, err := engine.New(cfg, []ingest.Source{src}, []*ingest.Stats{st}, engine.Options{Workers: env.Opt.Workers, Dispatcher: disp, Logger: log})
	if err != nil {
		disp.Close(context.Background())
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	fail := func(err error) (*LatencyRuleSetRep, error) {
		stop()
		<-done
		return nil, err
	}

	// Warm up: a file source starts at the end of the file, so lines
	// written before it opened the file are not read. Write a warm-up
	// probe every 20 ms until one comes through.
	rs := &LatencyRuleSetRep{Name: set.Name, NumRules: len(rules)}
	t0 := time.Now()
	var buf []byte
	for warm := false; !warm; {
		buf = appendProbe(buf[:0], -1, time.Now().UnixNano())
		if _, err := w.Write(buf); err != nil {
			return fail(err)
		}
		rs.LinesWritten++
		select {
		case <-pd.warm:
			warm = true
		case <-time.After(20 * time.Millisecond):
		case err := <-done:
			return nil, fmt.Errorf("pipeline stopped during warm-up: %v", err)
		}
		if !warm && time.Since(t0) > 10*time.Second {
			return fail(errors.New("the file source did not pick up a line within 10s"))
		}
	}
	rs.WarmupSeconds = time.Since(t0).Seconds()

	// Write: every batch interval, append in one write the lines due by
	// then at the rate, every o.every-th a probe stamped with the time
	// just before the batch is built.
	cpu0 := processCPU()
	tick := time.NewTicker(o.batch)
	start := time.Now()
	var written, seq, lastWrite int64
	bg := 0
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= o.duration {
			break
		}
		due := int64(el.Seconds()*float64(o.rate)) - written
		if due > 0 {
			buf = buf[:0]
			ts := time.Now().UnixNano()
			for range due {
				written++
				if written%int64(o.every) == 0 {
					buf = appendProbe(buf, seq, ts)
					seq++
					continue
				}
				buf = append(buf, background[bg]...)
				if bg++; bg == len(background) {
					bg = 0
				}
			}
			if _, err := w.Write(buf); err != nil {
				return fail(err)
			}
			rs.Writes++
			rs.BytesWritten += int64(len(buf))
			lastWrite = time.Since(start).Nanoseconds()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	tick.Stop()
	rs.LinesWritten += written
	rs.ProbesSent = seq
	rs.WriteSeconds = float64(lastWrite) / 1e9
	rs.AchievedRate = float64(written) / max(rs.WriteSeconds, 1e-9)

	// Wait for the last probes (at most 5 s), then stop the pipeline.
	for deadline := time.Now().Add(5 * time.Second); pd.received() < rs.ProbesSent && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	rs.CPUSeconds = (processCPU() - cpu0).Seconds()
	stop()
	if err := <-done; err != nil {
		return nil, err
	}
	rs.LinesRead = int64(st.Lines.Load())

	pd.mu.Lock()
	lat := append([]int64(nil), pd.lat...)
	rs.ProbesRecv, rs.Duplicates, rs.AlertsOther = int64(len(pd.seen)), pd.dups, pd.others
	bad := pd.badLine
	pd.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	if n := len(lat); n > 0 {
		pct := func(p float64) int64 { return lat[max(int(math.Ceil(p*float64(n)))-1, 0)] }
		rs.P50Millis, rs.P90Millis, rs.P99Millis, rs.P999Millis, rs.MaxMillis = ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(pct(.999)), ms(lat[n-1])
		var sum float64
		for _, l := range lat {
			sum += float64(l)
		}
		rs.MeanMillis = sum / float64(n) / 1e6
	}

	rs.Mechanism = fmt.Sprintf("fsnotify events (inotify on Linux), with a %s poll as fallback", ingest.FilePollInterval)
	logMu.Lock()
	for _, m := range msgs {
		if m == "file events unavailable; polling the file instead" {
			rs.Mechanism = fmt.Sprintf("polling every %s (file events unavailable)", ingest.FilePollInterval)
		}
	}
	logMu.Unlock()

	rs.Checks = append(rs.Checks,
		Check{Name: "probes received = sent", OK: rs.ProbesRecv == rs.ProbesSent && rs.Duplicates == 0 && bad == 0,
			Detail: fmt.Sprintf("%d sent, %d received, %d duplicates, %d unparsable", rs.ProbesSent, rs.ProbesRecv, rs.Duplicates, bad)},
		// Warm-up lines written before the source opened the file are
		// skipped, as a followed file's old lines are: the rest is read.
		Check{Name: "every line written was read", OK: rs.LinesRead > written && rs.LinesRead <= rs.LinesWritten,
			Detail: fmt.Sprintf("%d written, %d read (%d warm-up lines, some written before the source opened the file)", rs.LinesWritten, rs.LinesRead, rs.LinesWritten-written)},
	)
	return rs, nil
}

func printLatencyHeader(w io.Writer, rep *LatencyReport) {
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS=%d, %d workers\n", rep.GoVersion, rep.GOOS, rep.GOARCH, rep.NumCPU, rep.GOMAXPROCS, rep.Workers)
	fmt.Fprintf(w, "latency: a writer appends %s lines/s for %s to a file followed by the pipeline, in one write every %.3g ms; 1 line in %d is a probe\n",
		commas(int64(rep.Rate)), time.Duration(rep.Seconds*float64(time.Second)), rep.BatchMillis, rep.ProbeEvery)
	fmt.Fprintf(w, "  (\"%s seq=N t=<write time, Unix ns>\", matched by a rule with no cooldown); the other lines: %s\n", probeMarker, rep.Corpus)
	fmt.Fprintf(w, "  latency = time the counting destination's Send is called - t: file event or poll, read, ring, worker, match, rule state, dispatcher queue\n")
	if rep.LoadAvg != "" {
		fmt.Fprintf(w, "load average at start: %s (other processes on these CPUs skew every figure)\n", rep.LoadAvg)
	}
}

func printLatencySet(w io.Writer, rep *LatencyReport, rs *LatencyRuleSetRep) {
	fmt.Fprintf(w, "\nrules=%s (%d with the probe rule)  written %s lines (%s) in %.2f s = %s lines/s in %s writes  source: %s\n",
		rs.Name, rs.NumRules, commas(rs.LinesWritten), Size(rs.BytesWritten), rs.WriteSeconds, commas(int64(rs.AchievedRate)), commas(rs.Writes), rs.Mechanism)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
	rows := [][]string{
		{"probes sent", "received", "lost", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms", "cpu-s"},
		{commas(rs.ProbesSent), commas(rs.ProbesRecv), commas(rs.ProbesSent - rs.ProbesRecv), f(rs.P50Millis), f(rs.P90Millis), f(rs.P99Millis), f(rs.P999Millis), f(rs.MaxMillis), f(rs.MeanMillis), f(rs.CPUSeconds)},
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "  target: p99 <= 10 ms, nothing lost; warm-up (until the source followed the file) %.2f s; %d alerts of the set's own rules (cooldown 60s)\n", rs.WarmupSeconds, rs.AlertsOther)
	for _, c := range rs.Checks {
		status := "ok"
		if !c.OK {
			status = "MISMATCH"
		}
		fmt.Fprintf(w, "  check %-40s %-8s %s\n", c.Name, status, c.Detail)
	}
}
