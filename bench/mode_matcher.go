package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tinywatcher/tinywatcher/match"
)

func init() {
	RegisterMode(Mode{
		Name: "matcher",
		Help: "match.Matcher at 1 and N workers vs the naive regexp baseline, rg and grep, on an in-memory corpus",
		Run:  runMatcherMode,
	})
}

// MatcherReport is the matcher mode's result; --json prints it.
type MatcherReport struct {
	Host
	Runs      int             `json:"runs"`
	Workers   int             `json:"workers"`
	BlockSize int             `json:"block_size"`
	Corpus    CorpusInfo      `json:"corpus"`
	RuleSets  []RuleSetReport `json:"rule_sets"`
}

// CorpusInfo describes the file every runner reads.
type CorpusInfo struct {
	Path      string       `json:"path"`
	Bytes     int64        `json:"bytes"`
	Lines     int64        `json:"lines"`
	Generated *CorpusStats `json:"generated,omitempty"` // nil for --corpus
	// ReadSeconds is the time to read the file into memory once, before
	// any tinywatcher or naive run (not counted in their figures).
	ReadSeconds float64 `json:"read_seconds"`
}

// RuleSetReport holds every runner's figures for one rule set.
type RuleSetReport struct {
	Name           string             `json:"name"`
	NumRules       int                `json:"num_rules"`
	CompileSeconds float64            `json:"compile_seconds"` // match.Compile plus one NewMatcher
	MatchLines     int64              `json:"match_lines"`
	MatchFraction  float64            `json:"match_fraction"`
	Runners        []RunnerReport     `json:"runners"`
	Ratios         map[string]float64 `json:"ratios"` // "A / B": A's throughput over B's
	Checks         []Check            `json:"checks"`
}

// RunnerReport is one runner's medians over the runs.
type RunnerReport struct {
	Name          string    `json:"name"`
	Kind          string    `json:"kind"` // matcher, naive or external
	Workers       int       `json:"workers,omitempty"`
	Bytes         int64     `json:"bytes"` // scanned per run
	Lines         int64     `json:"lines"`
	Seconds       []float64 `json:"seconds"`
	MedianSeconds float64   `json:"median_seconds"`
	CPUSeconds    []float64 `json:"cpu_seconds,omitempty"` // CPU time (user + system) per run, where measured
	// Cores is median CPU time over median wall time: how many CPUs the
	// runner actually got. Below its worker count on an idle machine it
	// means waiting; on a busy one, other processes.
	Cores    float64 `json:"cores,omitempty"`
	MBPerSec float64 `json:"mb_per_sec"` // 10^6 bytes per second
	// MBPerCPUSec is 10^6 bytes per CPU-second: steadier than MBPerSec on a
	// shared machine, but blind to how well work spreads over cores.
	MBPerCPUSec   float64     `json:"mb_per_cpu_sec,omitempty"`
	LinesPerSec   float64     `json:"lines_per_sec"`
	AllocsPerLine *float64    `json:"allocs_per_line,omitempty"` // median heap allocations / lines; nil for external tools
	MatchLines    int64       `json:"match_lines"`
	PerRule       []RuleCount `json:"per_rule,omitempty"`
	Note          string      `json:"note,omitempty"`
	Skipped       string      `json:"skipped,omitempty"`
}

// Check is one cross-check between runners.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func runMatcherMode(ctx context.Context, env *Env) error {
	sets, err := env.RuleSets()
	if err != nil {
		return err
	}
	path, gen, data, read, err := env.readCorpus()
	if err != nil {
		return err
	}
	rep := &MatcherReport{
		Host:    newHost("matcher"),
		Runs:    env.Opt.Runs,
		Workers: env.Opt.Workers, BlockSize: BlockSize,
		Corpus: CorpusInfo{Path: path, Bytes: int64(len(data)), Lines: CountLines(data), Generated: gen, ReadSeconds: read.Seconds()},
	}
	if !env.Opt.JSON {
		printHeader(env.Stdout, rep)
	}
	tmp, err := os.MkdirTemp("", "tinywatcher-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, set := range sets {
		rs, err := benchRuleSet(ctx, env, set, path, data, tmp)
		if err != nil {
			return fmt.Errorf("rules=%s: %w", set.Name, err)
		}
		rep.RuleSets = append(rep.RuleSets, *rs)
		if !env.Opt.JSON {
			printRuleSet(env.Stdout, rep, rs, env.Opt.Top)
		}
	}
	if env.Opt.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}

// naivePrefixFor is how much of the corpus the naive baseline scans: the
// --naive-prefix for up to 64 rules, proportionally less for more rules
// (its cost grows with the rule count), at least 64 KiB.
func naivePrefixFor(opt Size, nrules int) int {
	n := int64(opt)
	if nrules > 64 {
		n = n * 64 / int64(nrules)
	}
	return int(max(n, 64<<10))
}

type timedRunner struct {
	rep     RunnerReport
	measure func() (wall, cpu time.Duration, mallocs uint64, res ScanResult, err error) // one run
	ours    bool                                                                        // result has per-rule counts
	results []ScanResult
	mallocs []uint64
}

func benchRuleSet(ctx context.Context, env *Env, set RuleSet, path string, data []byte, tmp string) (*RuleSetReport, error) {
	opt := env.Opt
	t0 := time.Now()
	prog, err := match.Compile(set.Rules)
	if err != nil {
		return nil, err
	}
	first, err := prog.NewMatcher()
	if err != nil {
		return nil, err
	}
	compile := time.Since(t0)
	matchers := []Scanner{first}
	for len(matchers) < opt.Workers {
		m, err := prog.NewMatcher()
		if err != nil {
			return nil, err
		}
		matchers = append(matchers, m)
	}
	naive, err := prog.NewNaive()
	if err != nil {
		return nil, err
	}
	nr := prog.NumRules()
	blocks := SplitBlocks(data, BlockSize)
	lines := CountLines(data)
	rs := &RuleSetReport{Name: set.Name, NumRules: nr, CompileSeconds: compile.Seconds(), Ratios: map[string]float64{}}

	scanRunner := func(name, kind string, blocks [][]byte, scanners []Scanner, nbytes, nlines int64) *timedRunner {
		return &timedRunner{
			rep:  RunnerReport{Name: name, Kind: kind, Workers: len(scanners), Bytes: nbytes, Lines: nlines},
			ours: true,
			measure: func() (time.Duration, time.Duration, uint64, ScanResult, error) {
				m, err := MeasureScan(blocks, scanners, nr)
				return m.Wall, m.CPU, m.Mallocs, m.Result, err
			},
		}
	}
	var runners []*timedRunner
	runners = append(runners, scanRunner("tinywatcher x1", "matcher", blocks, matchers[:1], int64(len(data)), lines))
	if opt.Workers > 1 {
		runners = append(runners, scanRunner(fmt.Sprintf("tinywatcher x%d", opt.Workers), "matcher", blocks, matchers, int64(len(data)), lines))
	}

	// The naive baseline on a prefix; tinywatcher scans the same prefix,
	// untimed, so their counts can be compared exactly.
	prefix := data
	if p := naivePrefixFor(opt.NaivePrefix, nr); p < len(data)*9/10 {
		prefix = data[:lastLineEnd(data, p)]
	}
	prefixBlocks := SplitBlocks(prefix, BlockSize)
	naiveR := scanRunner("naive (regexp)", "naive", prefixBlocks, []Scanner{naive}, int64(len(prefix)), CountLines(prefix))
	if len(prefix) < len(data) {
		naiveR.rep.Note = fmt.Sprintf("scanned the first %s (%s lines) only; its rate stands for the whole corpus and its match-lines are for that prefix", Size(len(prefix)), commas(naiveR.rep.Lines))
	}
	runners = append(runners, naiveR)

	if !opt.NoExternal {
		for _, ext := range Externals {
			x, why, err := prepareExternal(ext, set.Rules, tmp)
			if err != nil {
				return nil, err
			}
			r := &timedRunner{rep: RunnerReport{Name: ext.Name, Kind: "external", Bytes: int64(len(data)), Lines: lines}}
			if x == nil {
				r.rep.Skipped = why
			} else {
				r.rep.Note = "whole process: start-up, pattern compilation, reading the file"
				r.measure = func() (time.Duration, time.Duration, uint64, ScanResult, error) {
					n, wall, cpu, err := x.run(ctx, path)
					return wall, cpu, 0, ScanResult{MatchLines: n}, err
				}
			}
			runners = append(runners, r)
		}
	}

	// Interleave the runs so slow drifts in machine load spread evenly.
	for run := 1; run <= opt.Runs; run++ {
		for _, r := range runners {
			if r.measure == nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			env.Logf("rules=%s run %d/%d: %s", set.Name, run, opt.Runs, r.rep.Name)
			wall, cpu, mallocs, res, err := r.measure()
			if err != nil {
				// A runner that fails once is reported as failed, not with
				// the runs that happened to succeed.
				r.rep.Skipped = fmt.Sprintf("failed in run %d: %v", run, err)
				r.rep.Seconds, r.rep.CPUSeconds, r.results, r.mallocs, r.measure = nil, nil, nil, nil, nil
				continue
			}
			r.rep.Seconds = append(r.rep.Seconds, wall.Seconds())
			if cpu > 0 {
				r.rep.CPUSeconds = append(r.rep.CPUSeconds, cpu.Seconds())
			}
			r.mallocs = append(r.mallocs, mallocs)
			r.results = append(r.results, res)
		}
	}

	for _, r := range runners {
		if len(r.rep.Seconds) == 0 {
			continue
		}
		r.rep.MedianSeconds = median(r.rep.Seconds)
		if len(r.rep.CPUSeconds) == len(r.rep.Seconds) {
			cpu := median(r.rep.CPUSeconds)
			r.rep.Cores = cpu / r.rep.MedianSeconds
			r.rep.MBPerCPUSec = float64(r.rep.Bytes) / 1e6 / cpu
		}
		r.rep.MBPerSec = float64(r.rep.Bytes) / 1e6 / r.rep.MedianSeconds
		r.rep.LinesPerSec = float64(r.rep.Lines) / r.rep.MedianSeconds
		r.rep.MatchLines = r.results[0].MatchLines
		if r.ours {
			a := medianU(r.mallocs) / float64(max(r.rep.Lines, 1))
			r.rep.AllocsPerLine = &a
			r.rep.PerRule = perRuleCounts(prog, r.results[0])
		}
		for i, res := range r.results[1:] {
			if !res.Equal(r.results[0]) {
				rs.Checks = append(rs.Checks, Check{Name: r.rep.Name + " stable across runs", Detail: fmt.Sprintf("run %d: %s", i+2, res.Diff(r.results[0], prog))})
			}
		}
	}

	// Cross-checks: everything must agree with tinywatcher x1.
	ref := runners[0]
	if len(ref.results) == 0 {
		return nil, fmt.Errorf("tinywatcher x1 failed: %s", ref.rep.Skipped)
	}
	rs.MatchLines = ref.rep.MatchLines
	rs.MatchFraction = float64(rs.MatchLines) / float64(max(lines, 1))
	for _, r := range runners[1:] {
		if len(r.results) == 0 {
			continue
		}
		c := Check{Name: r.rep.Name + " agrees with tinywatcher x1"}
		switch r.rep.Kind {
		case "matcher":
			c.OK = r.results[0].Equal(ref.results[0])
			c.Detail = "per-rule counts on the whole corpus: " + r.results[0].Diff(ref.results[0], prog)
		case "naive":
			onPrefix, err := ScanBlocks(prefixBlocks, matchers[:1], nr)
			if err != nil {
				return nil, err
			}
			c.OK = r.results[0].Equal(onPrefix)
			c.Detail = "per-rule counts on the naive prefix: " + r.results[0].Diff(onPrefix, prog)
		default:
			c.OK = r.rep.MatchLines == ref.rep.MatchLines
			c.Detail = fmt.Sprintf("matching lines on the whole corpus: %d vs %d", r.rep.MatchLines, ref.rep.MatchLines)
		}
		rs.Checks = append(rs.Checks, c)
	}

	for _, r := range runners {
		if len(r.rep.Seconds) == 0 {
			continue
		}
		rs.Runners = append(rs.Runners, r.rep)
	}
	for _, a := range rs.Runners {
		if a.Kind != "matcher" {
			continue
		}
		for _, b := range rs.Runners {
			if a.Name != b.Name && b.MBPerSec > 0 && !(b.Kind == "matcher" && b.Workers > a.Workers) {
				rs.Ratios[a.Name+" / "+b.Name] = a.MBPerSec / b.MBPerSec
			}
		}
	}
	for _, r := range runners {
		if len(r.rep.Seconds) == 0 {
			rs.Runners = append(rs.Runners, r.rep) // skipped ones last
		}
	}
	return rs, nil
}

// lastLineEnd is the length of data's longest prefix of at most n bytes
// that ends a line (n itself when no '\n' comes before it).
func lastLineEnd(data []byte, n int) int {
	for i := n - 1; i >= 0; i-- {
		if data[i] == '\n' {
			return i + 1
		}
	}
	return n
}

func printHeader(w io.Writer, rep *MatcherReport) {
	c := rep.Corpus
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS=%d; corpus %s: %s, %s lines",
		rep.GoVersion, rep.GOOS, rep.GOARCH, rep.NumCPU, rep.GOMAXPROCS, c.Path, Size(c.Bytes), commas(c.Lines))
	if g := c.Generated; g != nil {
		fmt.Fprintf(w, " (seed %d, %.2f%% planted incident lines, %d loghub systems)", g.Seed, 100*float64(g.IncidentLines)/float64(max(g.Lines, 1)), len(g.LoghubSystems))
	}
	fmt.Fprintf(w, "; read into memory in %.2f s, not counted below\n", c.ReadSeconds)
	if rep.LoadAvg != "" {
		fmt.Fprintf(w, "load average at start: %s (other processes on these CPUs skew every figure; compare ratios)\n", rep.LoadAvg)
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages where the system
// tells them (Linux), else "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func printRuleSet(w io.Writer, rep *MatcherReport, rs *RuleSetReport, top int) {
	fmt.Fprintf(w, "\nrules=%s (%d)  corpus=%s %s lines  %.2f%% matching (%s lines)  runs=%d (medians)  GOMAXPROCS=%d\n",
		rs.Name, rs.NumRules, Size(rep.Corpus.Bytes), commas(rep.Corpus.Lines), 100*rs.MatchFraction, commas(rs.MatchLines), rep.Runs, rep.GOMAXPROCS)
	byName := map[string]RunnerReport{}
	var cols []string // baselines that ran
	for _, r := range rs.Runners {
		byName[r.Name] = r
	}
	for _, b := range []string{"naive (regexp)", "rg -f", "grep -E -f", "tinywatcher x1"} {
		if r, ok := byName[b]; ok && r.MedianSeconds > 0 {
			cols = append(cols, b)
		}
	}
	short := map[string]string{"naive (regexp)": "vs naive", "rg -f": "vs rg", "grep -E -f": "vs grep", "tinywatcher x1": "vs x1"}
	rows := [][]string{{"runner", "MB/s", "lines/s", "cores", "MB/cpu-s", "allocs/line", "match-lines"}}
	for _, c := range cols {
		rows[0] = append(rows[0], short[c])
	}
	for _, r := range rs.Runners {
		if r.MedianSeconds == 0 {
			rows = append(rows, []string{r.Name, "skipped: " + r.Skipped})
			continue
		}
		allocs := "-"
		if r.AllocsPerLine != nil {
			allocs = strconv.FormatFloat(*r.AllocsPerLine, 'f', 4, 64)
		}
		ml := commas(r.MatchLines)
		if r.Kind == "naive" && r.Lines < rep.Corpus.Lines {
			ml += " (prefix)"
		}
		cores, perCPU := "-", "-"
		if r.Cores > 0 {
			cores = strconv.FormatFloat(r.Cores, 'f', 2, 64)
			perCPU = strconv.FormatFloat(r.MBPerCPUSec, 'f', 1, 64)
		}
		row := []string{r.Name, strconv.FormatFloat(r.MBPerSec, 'f', 1, 64), commas(int64(r.LinesPerSec)), cores, perCPU, allocs, ml}
		for _, c := range cols {
			if c == r.Name {
				row = append(row, "-")
			} else {
				row = append(row, fmtRatio(r.MBPerSec/byName[c].MBPerSec))
			}
		}
		rows = append(rows, row)
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "  compile (match.Compile + NewMatcher): %.1f ms; tinywatcher runners scan the file from memory in %d KiB blocks of whole lines\n", 1000*rs.CompileSeconds, rep.BlockSize>>10)
	for _, r := range rs.Runners {
		if r.Note != "" && r.MedianSeconds > 0 {
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Note)
		}
	}
	for _, c := range rs.Checks {
		status := "ok"
		if !c.OK {
			status = "MISMATCH"
		}
		fmt.Fprintf(w, "  check %-40s %-8s %s\n", c.Name, status, c.Detail)
	}
	if r, ok := byName["tinywatcher x1"]; ok && top > 0 {
		fmt.Fprintf(w, "  top rules by matching lines:")
		for i, rc := range r.PerRule {
			if i == top || rc.Matches == 0 {
				break
			}
			fmt.Fprintf(w, " %s=%s", rc.Rule, commas(rc.Matches))
		}
		fmt.Fprintln(w)
	}
}

// writeTable prints rows with the first column aligned left and the
// others right; a row of two cells is a note spanning the rest.
func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		if len(row) == 2 && len(width) > 2 {
			width[0] = max(width[0], len(row[0]))
			continue
		}
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", max(width[i]-utf8.RuneCountInString(c), 0))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			case len(row) == 2:
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// fmtRatio prints a speed ratio with two or three significant digits.
func fmtRatio(x float64) string {
	prec := 3
	switch {
	case x >= 100:
		prec = 0
	case x >= 10:
		prec = 1
	case x >= 0.1:
		prec = 2
	}
	return strconv.FormatFloat(x, 'f', prec, 64) + "x"
}

// commas prints n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
