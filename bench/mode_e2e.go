package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/tinywatcher/tinywatcher/match"
)

func init() {
	RegisterMode(Mode{
		Name:  "e2e",
		Help:  "whole pipeline (file sources -> engine -> counting destination) vs the matcher alone, allocations, peak RSS",
		Run:   runE2EMode,
		Flags: e2eFlags,
	})
}

// e2eOpt holds the e2e mode's own flags.
var e2eOpt struct {
	sources  string
	cooldown time.Duration
	ring     int
	rss      bool
}

func e2eFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e2eOpt.sources, "e2e-sources", "1,2,100", "e2e: numbers of file sources to measure, comma-separated; K sources read K slices of the corpus (together the whole corpus)")
	fs.DurationVar(&e2eOpt.cooldown, "e2e-cooldown", 60*time.Second, "e2e: cooldown of every rule (0: every match alerts)")
	fs.IntVar(&e2eOpt.ring, "e2e-ring", 0, "e2e: blocks per source ring (default: the engine's)")
	fs.BoolVar(&e2eOpt.rss, "e2e-rss", true, "e2e: measure peak RSS of each source count in a child process")
}

// The child process that measures peak RSS is this binary run again as
// `<exe> bench --mode e2e …` with these variables set.
const (
	childEnv     = "TINYWATCHER_BENCH_CHILD"      // "e2e-rss"
	childSpecEnv = "TINYWATCHER_BENCH_CHILD_SPEC" // JSON rssSpec
)

// rssSpec is what the RSS child runs.
type rssSpec struct {
	Files    []string      `json:"files"`
	Rules    string        `json:"rules"` // rule set name
	Many     int           `json:"many_rules"`
	Workers  int           `json:"workers"`
	Ring     int           `json:"ring"`
	Cooldown time.Duration `json:"cooldown"`
}

// RSSReport is the memory of a pipeline run over some sources.
type RSSReport struct {
	// Where is "child process" (a fresh process that ran only the
	// pipeline) or "in-process" (under go test: there is no binary to run
	// again, and the figure includes everything the process did before).
	Where      string  `json:"where"`
	PeakKiB    int64   `json:"vm_hwm_kib"`       // VmHWM at the end: peak resident set
	StartKiB   int64   `json:"start_vm_hwm_kib"` // VmHWM before the pipeline was built
	EndRSSKiB  int64   `json:"vm_rss_kib"`       // VmRSS at the end
	HeapSysKiB int64   `json:"heap_sys_kib"`     // runtime.MemStats.HeapSys at the end
	GoSysKiB   int64   `json:"go_sys_kib"`       // runtime.MemStats.Sys at the end
	Seconds    float64 `json:"seconds"`          // the run's wall time
	Lines      int64   `json:"lines"`            // lines the child read (cross-check)
	Error      string  `json:"error,omitempty"`  // why it was not measured
	Note       string  `json:"note,omitempty"`
}

// E2EReport is the e2e mode's result; --json prints it.
type E2EReport struct {
	Host
	Runs        int             `json:"runs"`
	Workers     int             `json:"workers"`
	Ring        int             `json:"ring,omitempty"` // 0: the engine's default
	CooldownSec float64         `json:"cooldown_seconds"`
	Corpus      CorpusInfo      `json:"corpus"`
	RuleSets    []E2ERuleSetRep `json:"rule_sets"`
}

// E2ERuleSetRep holds the figures of one rule set.
type E2ERuleSetRep struct {
	Name       string `json:"name"`
	NumRules   int    `json:"num_rules"`
	MatchLines int64  `json:"match_lines"` // lines matching some rule (matcher x1)
	Matches    int64  `json:"matches"`     // (line, rule) matches
	// Matcher is the matcher alone over the corpus in memory, at 1 and
	// --workers goroutines, measured in the same runs.
	Matcher []RunnerReport `json:"matcher"`
	E2E     []E2ERunReport `json:"e2e"`
	Checks  []Check        `json:"checks"`
}

// E2ERunReport is one source count's medians over the runs.
type E2ERunReport struct {
	Name          string    `json:"name"`
	Sources       int       `json:"sources"`
	Workers       int       `json:"workers"`
	Bytes         int64     `json:"bytes"`
	Lines         int64     `json:"lines"`
	Seconds       []float64 `json:"seconds"`
	MedianSeconds float64   `json:"median_seconds"`
	CPUSeconds    []float64 `json:"cpu_seconds,omitempty"`
	Cores         float64   `json:"cores,omitempty"`
	MBPerSec      float64   `json:"mb_per_sec"`
	MBPerCPUSec   float64   `json:"mb_per_cpu_sec,omitempty"`
	LinesPerSec   float64   `json:"lines_per_sec"`
	// VsMatcher is MBPerSec over the matcher's at the same number of
	// goroutines as the pipeline has workers; VsMatcherX1 over one.
	VsMatcher   float64 `json:"vs_matcher"`
	VsMatcherX1 float64 `json:"vs_matcher_x1"`
	// VsMatcherCPU is MBPerCPUSec over the matcher's at the pipeline's
	// worker count: the pipeline's CPU cost per byte beside the matcher's,
	// steadier than the wall-time ratios when other processes take CPUs.
	VsMatcherCPU float64 `json:"vs_matcher_per_cpu,omitempty"`
	// Allocations: Mallocs during Pipeline.Run (median), the same for a
	// run over as many empty files (start-up: workers, matchers, sources),
	// and the difference per line and per matching line.
	Mallocs            float64 `json:"mallocs"`
	SetupMallocs       float64 `json:"setup_mallocs"`
	AllocsPerLine      float64 `json:"allocs_per_line"`
	AllocsPerMatchLine float64 `json:"allocs_per_match_line"` // 0 when no line matched
	// AllocsPerBlock is the same over the blocks the workers scanned: with
	// no allocation per non-matching line, what is left is per block.
	AllocsPerBlock float64     `json:"allocs_per_block"`
	Blocks         uint64      `json:"blocks"`
	Fired          uint64      `json:"alerts_fired"`     // handed to the dispatcher
	Delivered      int64       `json:"alerts_delivered"` // received by the counting destination
	Dropped        uint64      `json:"alerts_dropped"`
	PerRule        []RuleCount `json:"per_rule,omitempty"` // Pipeline.RuleMatches
	RSS            *RSSReport  `json:"rss,omitempty"`
}

func parseSourceCounts(s string) ([]int, error) {
	var ks []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := strconv.Atoi(f)
		if err != nil || k < 1 {
			return nil, fmt.Errorf("bad --e2e-sources %q: want source counts >= 1 such as 1,2,100", s)
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("bad --e2e-sources %q: no source count", s)
	}
	return ks, nil
}

func runE2EMode(ctx context.Context, env *Env) error {
	if os.Getenv(childEnv) == "e2e-rss" {
		return runRSSChild(ctx, env)
	}
	ks, err := parseSourceCounts(e2eOpt.sources)
	if err != nil {
		return err
	}
	sets, err := env.RuleSets()
	if err != nil {
		return err
	}
	// Reading the file puts it in the page cache too: every e2e run reads
	// it (or its slices, written below) from memory, not from the disk.
	path, gen, data, read, err := env.readCorpus()
	if err != nil {
		return err
	}
	lines := CountLines(data)
	rep := &E2EReport{
		Host:    newHost("e2e"),
		Runs:    env.Opt.Runs,
		Workers: env.Opt.Workers, Ring: e2eOpt.ring, CooldownSec: e2eOpt.cooldown.Seconds(),
		Corpus: CorpusInfo{Path: path, Bytes: int64(len(data)), Lines: lines, Generated: gen, ReadSeconds: read.Seconds()},
	}
	tmp, err := os.MkdirTemp("", "tinywatcher-bench-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// K sources read K slices of the corpus; one source reads the corpus
	// itself. Empty files measure the pipeline's start-up allocations.
	files := map[int][]string{}
	empty := map[int][]string{}
	for _, k := range ks {
		if _, ok := files[k]; ok {
			continue
		}
		if k == 1 {
			files[k] = []string{path}
		} else if files[k], err = splitFiles(tmp, fmt.Sprintf("slice%d", k), data, k); err != nil {
			return err
		}
		if empty[k], err = splitFiles(tmp, fmt.Sprintf("empty%d", k), nil, k); err != nil {
			return err
		}
	}
	if !env.Opt.JSON {
		printE2EHeader(env.Stdout, rep)
	}
	for _, set := range sets {
		rs, err := benchE2ESet(ctx, env, set, data, lines, ks, files, empty)
		if err != nil {
			return fmt.Errorf("rules=%s: %w", set.Name, err)
		}
		rep.RuleSets = append(rep.RuleSets, *rs)
		if !env.Opt.JSON {
			printE2ESet(env.Stdout, rep, rs, env.Opt.Top)
		}
	}
	if env.Opt.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}

func benchE2ESet(ctx context.Context, env *Env, set RuleSet, data []byte, lines int64, ks []int, files, empty map[int][]string) (*E2ERuleSetRep, error) {
	opt := env.Opt
	prog, err := match.Compile(set.Rules)
	if err != nil {
		return nil, err
	}
	nr := prog.NumRules()
	var matchers []Scanner
	for range opt.Workers {
		m, err := prog.NewMatcher()
		if err != nil {
			return nil, err
		}
		matchers = append(matchers, m)
	}
	blocks := SplitBlocks(data, BlockSize)
	log := warnLogger(env)
	rs := &E2ERuleSetRep{Name: set.Name, NumRules: nr}

	type matcherRunner struct {
		rep     RunnerReport
		scan    []Scanner
		mallocs []uint64
		result  ScanResult
	}
	mrs := []*matcherRunner{{rep: RunnerReport{Name: "matcher x1", Kind: "matcher", Workers: 1}, scan: matchers[:1]}}
	if opt.Workers > 1 {
		mrs = append(mrs, &matcherRunner{rep: RunnerReport{Name: fmt.Sprintf("matcher x%d", opt.Workers), Kind: "matcher", Workers: opt.Workers}, scan: matchers})
	}
	type e2eRunner struct {
		rep     E2ERunReport
		files   []string
		mallocs []float64
		setup   []float64
		runs    []pipelineRun
	}
	var ers []*e2eRunner
	for _, k := range ks {
		name := fmt.Sprintf("e2e %d source", k)
		if k > 1 {
			name += "s"
		}
		ers = append(ers, &e2eRunner{rep: E2ERunReport{Name: name, Sources: k, Workers: opt.Workers}, files: files[k]})
	}

	// Interleave the runs so slow drifts in machine load spread evenly.
	for run := 1; run <= opt.Runs; run++ {
		for _, m := range mrs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			env.Logf("e2e rules=%s run %d/%d: %s", set.Name, run, opt.Runs, m.rep.Name)
			ms, err := MeasureScan(blocks, m.scan, nr)
			if err != nil {
				return nil, err
			}
			m.rep.Seconds = append(m.rep.Seconds, ms.Wall.Seconds())
			m.rep.CPUSeconds = append(m.rep.CPUSeconds, ms.CPU.Seconds())
			m.mallocs = append(m.mallocs, ms.Mallocs)
			m.result = ms.Result
		}
		for _, e := range ers {
			env.Logf("e2e rules=%s run %d/%d: %s", set.Name, run, opt.Runs, e.rep.Name)
			setup, err := runReplayPipeline(ctx, set.Rules, empty[e.rep.Sources], opt.Workers, e2eOpt.ring, e2eOpt.cooldown, log)
			if err != nil {
				return nil, fmt.Errorf("%s over empty files: %w", e.rep.Name, err)
			}
			r, err := runReplayPipeline(ctx, set.Rules, e.files, opt.Workers, e2eOpt.ring, e2eOpt.cooldown, log)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.rep.Name, err)
			}
			e.rep.Seconds = append(e.rep.Seconds, r.Wall.Seconds())
			e.rep.CPUSeconds = append(e.rep.CPUSeconds, r.CPU.Seconds())
			e.mallocs = append(e.mallocs, float64(r.Mallocs))
			e.setup = append(e.setup, float64(setup.Mallocs))
			e.runs = append(e.runs, r)
		}
	}

	nbytes := int64(len(data))
	for _, m := range mrs {
		r := &m.rep
		r.Bytes, r.Lines = nbytes, lines
		r.MedianSeconds = median(r.Seconds)
		cpu := median(r.CPUSeconds)
		if cpu > 0 {
			r.Cores = cpu / r.MedianSeconds
			r.MBPerCPUSec = float64(nbytes) / 1e6 / cpu
		}
		r.MBPerSec = float64(nbytes) / 1e6 / r.MedianSeconds
		r.LinesPerSec = float64(lines) / r.MedianSeconds
		a := medianU(m.mallocs) / float64(max(lines, 1))
		r.AllocsPerLine = &a
		r.MatchLines = m.result.MatchLines
		r.PerRule = perRuleCounts(prog, m.result)
		rs.Matcher = append(rs.Matcher, *r)
	}
	ref := mrs[0].result
	rs.MatchLines = ref.MatchLines
	for _, c := range ref.PerRule {
		rs.Matches += c
	}
	if len(mrs) > 1 {
		rs.Checks = append(rs.Checks, Check{Name: mrs[1].rep.Name + " agrees with matcher x1", OK: mrs[1].result.Equal(ref),
			Detail: "per-rule counts: " + mrs[1].result.Diff(ref, prog)})
	}
	same := mrs[len(mrs)-1].rep // the matcher at the pipeline's worker count
	for _, e := range ers {
		r := &e.rep
		first := e.runs[0]
		r.Bytes, r.Lines = first.Bytes, first.Lines
		r.MedianSeconds = median(r.Seconds)
		if cpu := median(r.CPUSeconds); cpu > 0 {
			r.Cores = cpu / r.MedianSeconds
			r.MBPerCPUSec = float64(r.Bytes) / 1e6 / cpu
		}
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.MedianSeconds
		r.LinesPerSec = float64(r.Lines) / r.MedianSeconds
		r.VsMatcher = r.MBPerSec / same.MBPerSec
		r.VsMatcherX1 = r.MBPerSec / mrs[0].rep.MBPerSec
		if same.MBPerCPUSec > 0 {
			r.VsMatcherCPU = r.MBPerCPUSec / same.MBPerCPUSec
		}
		r.Mallocs, r.SetupMallocs = median(e.mallocs), median(e.setup)
		r.AllocsPerLine = max(r.Mallocs-r.SetupMallocs, 0) / float64(max(r.Lines, 1))
		if rs.MatchLines > 0 {
			r.AllocsPerMatchLine = max(r.Mallocs-r.SetupMallocs, 0) / float64(rs.MatchLines)
		}
		r.Blocks, r.Fired, r.Delivered, r.Dropped = first.Blocks, first.Fired, first.Delivered, first.Dropped
		r.AllocsPerBlock = max(r.Mallocs-r.SetupMallocs, 0) / float64(max(r.Blocks, 1))
		r.PerRule = perRuleCounts(prog, ScanResult{PerRule: first.PerRule})

		// Cross-checks, on every run: the pipeline read every line and
		// counted, rule by rule, what the matcher alone found.
		lineOK, ruleOK, alertOK := true, true, true
		var lineDetail, ruleDetail, alertDetail string
		for i, pr := range e.runs {
			if pr.Lines != lines || pr.Bytes != nbytes {
				lineOK = false
				lineDetail = fmt.Sprintf("run %d: %d lines, %d bytes; the corpus has %d, %d", i+1, pr.Lines, pr.Bytes, lines, nbytes)
			}
			got := ScanResult{PerRule: pr.PerRule, MatchLines: ref.MatchLines}
			if !got.Equal(ref) {
				ruleOK = false
				ruleDetail = fmt.Sprintf("run %d: %s", i+1, got.Diff(ref, prog))
			}
			want, what := expectedAlerts(pr, e2eOpt.cooldown)
			if (want >= 0 && int64(pr.Fired) != want) || pr.Delivered != int64(pr.Fired) || pr.Dropped != 0 {
				alertOK = false
				alertDetail = fmt.Sprintf("run %d: %d fired (want %d, %s), %d delivered, %d dropped", i+1, pr.Fired, want, what, pr.Delivered, pr.Dropped)
			}
		}
		if lineOK {
			lineDetail = fmt.Sprintf("%s lines, %s bytes in every run", commas(lines), commas(nbytes))
		}
		if ruleOK {
			ruleDetail = fmt.Sprintf("%d rules, %s matches", nr, commas(rs.Matches))
		}
		if alertOK {
			want, what := expectedAlerts(first, e2eOpt.cooldown)
			alertDetail = fmt.Sprintf("%d alerts fired and delivered, none dropped", first.Fired)
			if want >= 0 {
				alertDetail += " (" + what + ")"
			}
		}
		rs.Checks = append(rs.Checks,
			Check{Name: r.Name + " read the whole corpus", OK: lineOK, Detail: lineDetail},
			Check{Name: r.Name + " matches = matcher x1, per rule", OK: ruleOK, Detail: ruleDetail},
			Check{Name: r.Name + " alerts", OK: alertOK, Detail: alertDetail},
		)
	}

	if e2eOpt.rss {
		for _, e := range ers {
			env.Logf("e2e rules=%s: peak RSS of %s", set.Name, e.rep.Name)
			rss := measureRSS(ctx, env, rssSpec{Files: e.files, Rules: set.Name, Many: opt.ManyRules, Workers: opt.Workers, Ring: e2eOpt.ring, Cooldown: e2eOpt.cooldown})
			if rss.Error == "" && rss.Lines != lines {
				rs.Checks = append(rs.Checks, Check{Name: e.rep.Name + " RSS run read the corpus", Detail: fmt.Sprintf("%d lines, want %d", rss.Lines, lines)})
			}
			e.rep.RSS = &rss
		}
	}
	for _, e := range ers {
		rs.E2E = append(rs.E2E, e.rep)
	}
	return rs, nil
}

// expectedAlerts is how many alerts a run must fire: every match with no
// cooldown; with a cooldown longer than the run, one per rule that
// matched; else it cannot be told (-1).
func expectedAlerts(r pipelineRun, cooldown time.Duration) (int64, string) {
	if cooldown <= 0 {
		return r.totalMatches(), "one per match: no cooldown"
	}
	if r.Wall < cooldown {
		var n int64
		for _, c := range r.PerRule {
			if c > 0 {
				n++
			}
		}
		return n, "one per rule that matched: the run is shorter than the cooldown"
	}
	return -1, "run longer than the cooldown"
}

// measureRSS runs the pipeline over spec.Files in a child process (this
// binary again) and returns the peak RSS it reports; under go test there
// is no such binary and the pipeline runs in this process.
func measureRSS(ctx context.Context, env *Env, spec rssSpec) RSSReport {
	if testing.Testing() {
		r := rssRun(ctx, env, spec)
		r.Where = "in-process"
		r.Note = "under go test there is no binary to run again: VmHWM is this whole test process's"
		return r
	}
	exe, err := os.Executable()
	if err != nil {
		return RSSReport{Error: fmt.Sprintf("cannot find this binary: %v", err)}
	}
	js, _ := json.Marshal(spec)
	cmd := exec.CommandContext(ctx, exe, "bench", "--mode", "e2e", "--rules", spec.Rules,
		"--many-rules", strconv.Itoa(spec.Many), "--workers", strconv.Itoa(spec.Workers))
	cmd.Env = append(os.Environ(), childEnv+"=e2e-rss", childSpecEnv+"="+string(js))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return RSSReport{Error: fmt.Sprintf("child process: %v: %s", err, strings.TrimSpace(errOut.String()))}
	}
	var r RSSReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return RSSReport{Error: fmt.Sprintf("child process printed no report: %v: %q", err, out.String())}
	}
	r.Where = "child process"
	return r
}

// runRSSChild is the child side of measureRSS.
func runRSSChild(ctx context.Context, env *Env) error {
	var spec rssSpec
	if err := json.Unmarshal([]byte(os.Getenv(childSpecEnv)), &spec); err != nil {
		return fmt.Errorf("BUG: bad %s: %w", childSpecEnv, err)
	}
	r := rssRun(ctx, env, spec)
	if r.Error != "" {
		return fmt.Errorf("%s", r.Error)
	}
	return json.NewEncoder(env.Stdout).Encode(r)
}

func rssRun(ctx context.Context, env *Env, spec rssSpec) RSSReport {
	start := procStatusKiB("VmHWM")["VmHWM"]
	sets, err := env.RuleSets()
	if err != nil {
		return RSSReport{Error: err.Error()}
	}
	var rules []match.Rule
	for _, s := range sets {
		if s.Name == spec.Rules {
			rules = s.Rules
		}
	}
	if rules == nil {
		return RSSReport{Error: fmt.Sprintf("no rule set %q", spec.Rules)}
	}
	run, err := runReplayPipeline(ctx, rules, spec.Files, spec.Workers, spec.Ring, spec.Cooldown, warnLogger(env))
	if err != nil {
		return RSSReport{Error: err.Error()}
	}
	st := procStatusKiB("VmHWM", "VmRSS")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return RSSReport{PeakKiB: st["VmHWM"], StartKiB: start, EndRSSKiB: st["VmRSS"],
		HeapSysKiB: int64(ms.HeapSys >> 10), GoSysKiB: int64(ms.Sys >> 10), Seconds: run.Wall.Seconds(), Lines: run.Lines}
}

func printE2EHeader(w io.Writer, rep *E2EReport) {
	c := rep.Corpus
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS=%d; corpus %s: %s, %s lines",
		rep.GoVersion, rep.GOOS, rep.GOARCH, rep.NumCPU, rep.GOMAXPROCS, c.Path, Size(c.Bytes), commas(c.Lines))
	if g := c.Generated; g != nil {
		fmt.Fprintf(w, " (seed %d, %.2f%% planted incident lines, %d loghub systems)", g.Seed, 100*float64(g.IncidentLines)/float64(max(g.Lines, 1)), len(g.LoghubSystems))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "e2e: file sources (replay, from the page cache) -> engine (%d workers, ring %s) -> dispatcher -> counting destination; rule cooldown %s\n",
		rep.Workers, ringName(rep.Ring), time.Duration(rep.CooldownSec*float64(time.Second)))
	fmt.Fprintf(w, "matcher: match.Matcher alone over the corpus in memory (read in %.2f s, not counted), same runs\n", c.ReadSeconds)
	if rep.LoadAvg != "" {
		fmt.Fprintf(w, "load average at start: %s (other processes on these CPUs skew every figure; compare ratios)\n", rep.LoadAvg)
	}
}

func ringName(n int) string {
	if n <= 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

func printE2ESet(w io.Writer, rep *E2EReport, rs *E2ERuleSetRep, top int) {
	fmt.Fprintf(w, "\nrules=%s (%d)  corpus=%s %s lines  %.2f%% matching (%s lines, %s matches)  runs=%d (medians)  workers=%d\n",
		rs.Name, rs.NumRules, Size(rep.Corpus.Bytes), commas(rep.Corpus.Lines), 100*float64(rs.MatchLines)/float64(max(rep.Corpus.Lines, 1)),
		commas(rs.MatchLines), commas(rs.Matches), rep.Runs, rep.Workers)
	same := rs.Matcher[len(rs.Matcher)-1].Name
	rows := [][]string{{"runner", "MB/s", "lines/s", "cores", "MB/cpu-s", "allocs/line", "allocs/match-line", "allocs/block", "alerts", "vs matcher x1", "vs " + same, "MB/cpu-s vs " + same, "peak RSS"}}
	f := func(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }
	for _, m := range rs.Matcher {
		rows = append(rows, []string{m.Name, f(m.MBPerSec, 1), commas(int64(m.LinesPerSec)), f(m.Cores, 2), f(m.MBPerCPUSec, 1),
			f(*m.AllocsPerLine, 4), "-", "-", "-", fmtRatio(m.MBPerSec / rs.Matcher[0].MBPerSec), fmtRatio(m.MBPerSec / rs.Matcher[len(rs.Matcher)-1].MBPerSec), fmtRatio(m.MBPerCPUSec / rs.Matcher[len(rs.Matcher)-1].MBPerCPUSec), "-"})
	}
	for _, e := range rs.E2E {
		rss := "-"
		if e.RSS != nil {
			if e.RSS.Error != "" {
				rss = "failed"
			} else {
				rss = Size(e.RSS.PeakKiB << 10).String()
				if e.RSS.Where != "child process" {
					rss += " (in-process)"
				}
			}
		}
		perMatch := "-"
		if rs.MatchLines > 0 {
			perMatch = f(e.AllocsPerMatchLine, 3)
		}
		rows = append(rows, []string{e.Name, f(e.MBPerSec, 1), commas(int64(e.LinesPerSec)), f(e.Cores, 2), f(e.MBPerCPUSec, 1),
			f(e.AllocsPerLine, 4), perMatch, f(e.AllocsPerBlock, 2), commas(int64(e.Delivered)), fmtRatio(e.VsMatcherX1), fmtRatio(e.VsMatcher), fmtRatio(e.VsMatcherCPU), rss})
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "  targets: e2e >= 0.80x %s with sources enough for every worker; 0 allocs per non-matching line; peak RSS <= 64MiB with 100 sources\n", same)
	fmt.Fprintf(w, "  allocs: Mallocs during Pipeline.Run minus those of a run over as many empty files (start-up:")
	for _, e := range rs.E2E {
		fmt.Fprintf(w, " %d sources %s,", e.Sources, commas(int64(e.SetupMallocs)))
	}
	fmt.Fprintf(w, " medians), over all lines, matching lines and blocks scanned\n")
	for _, e := range rs.E2E {
		if e.RSS == nil {
			continue
		}
		if e.RSS.Error != "" {
			fmt.Fprintf(w, "  peak RSS %s: %s\n", e.Name, e.RSS.Error)
			continue
		}
		fmt.Fprintf(w, "  peak RSS %s (%s): VmHWM %s (%s before the run), VmRSS at end %s, Go heap %s, Go sys %s; %.2f s\n",
			e.Name, e.RSS.Where, Size(e.RSS.PeakKiB<<10), Size(e.RSS.StartKiB<<10), Size(e.RSS.EndRSSKiB<<10),
			Size(e.RSS.HeapSysKiB<<10), Size(e.RSS.GoSysKiB<<10), e.RSS.Seconds)
	}
	for _, c := range rs.Checks {
		status := "ok"
		if !c.OK {
			status = "MISMATCH"
		}
		fmt.Fprintf(w, "  check %-48s %-8s %s\n", c.Name, status, c.Detail)
	}
	if len(rs.E2E) > 0 && top > 0 {
		fmt.Fprintf(w, "  top rules by matches (Pipeline.RuleMatches):")
		for i, rc := range rs.E2E[0].PerRule {
			if i == top || rc.Matches == 0 {
				break
			}
			fmt.Fprintf(w, " %s=%s", rc.Rule, commas(rc.Matches))
		}
		fmt.Fprintln(w)
	}
}
