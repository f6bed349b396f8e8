package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tinywatcher/tinywatcher/match"
)

// Options are the flags of `tinywatcher bench`, shared by every mode.
type Options struct {
	Mode        string
	Size        Size   // corpus size to generate
	Seed        uint64 // corpus seed
	Workers     int    // N for the "tinywatcher xN" runner; 0 means GOMAXPROCS
	Runs        int    // repetitions per measurement; medians are reported
	Rules       string // default, many or both
	ManyRules   int    // size of the "many" rule set
	JSON        bool   // print the report as JSON instead of a table
	Corpus      string // an existing log file to use instead of generating one
	Loghub      string // loghub samples dir; "" finds it, "none" leaves it out
	CacheDir    string // where generated corpora are kept; "" is $TMPDIR/tinywatcher-bench
	NaivePrefix Size   // bytes the naive baseline scans (for <= 64 rules; less for more)
	Top         int    // rules listed in the per-rule table
	NoExternal  bool   // skip grep and rg
	CPUProfile  string // write a CPU profile of the whole run here
}

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{
		Mode:        "matcher",
		Size:        DefaultCorpusSize,
		Seed:        1,
		Runs:        3,
		Rules:       "both",
		ManyRules:   1000,
		NaivePrefix: 16 << 20,
		Top:         10,
	}
}

// Mode is one kind of measurement, chosen with --mode. A mode lives in its
// own file (mode_<name>.go) and registers itself from init.
type Mode struct {
	Name string
	Help string // one line for `bench --help`
	Run  func(ctx context.Context, env *Env) error
	// Flags, if set, adds the mode's own flags to the command; name them
	// with the mode as prefix (--e2e-sources) so modes cannot clash.
	Flags func(fs *pflag.FlagSet)
}

var (
	modesMu sync.Mutex
	modes   = map[string]Mode{}
)

// RegisterMode adds a mode; call it from an init function. Registering a
// name twice is a bug.
func RegisterMode(m Mode) {
	modesMu.Lock()
	defer modesMu.Unlock()
	if _, dup := modes[m.Name]; dup {
		panic("BUG: bench mode " + m.Name + " registered twice")
	}
	modes[m.Name] = m
}

func modeByName(name string) Mode {
	modesMu.Lock()
	defer modesMu.Unlock()
	return modes[name]
}

func modeNames() []string {
	modesMu.Lock()
	defer modesMu.Unlock()
	var names []string
	for n := range modes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Env is what a mode runs with: the options, where to print, and the
// corpus and rule sets, built on first use and shared.
type Env struct {
	Opt    Options
	Stdout io.Writer // the report
	Stderr io.Writer // progress

	corpusOnce  sync.Once
	corpusPath  string
	corpusStats *CorpusStats
	corpusErr   error
}

// Logf prints a progress line to Stderr.
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "bench: "+format+"\n", args...)
}

// CorpusFile returns the corpus path: --corpus as given, or the generated
// (cached) corpus, whose statistics come back too (nil for --corpus).
func (e *Env) CorpusFile() (string, *CorpusStats, error) {
	e.corpusOnce.Do(func() {
		if e.Opt.Corpus != "" {
			if _, err := os.Stat(e.Opt.Corpus); err != nil {
				e.corpusErr = fmt.Errorf("cannot use --corpus: %w", err)
				return
			}
			e.corpusPath = e.Opt.Corpus
			return
		}
		dir := e.Opt.Loghub
		switch dir {
		case "none":
			dir = ""
		case "":
			if dir, e.corpusErr = FindLoghub(""); e.corpusErr != nil {
				return
			}
		}
		e.Logf("corpus: %s, seed %d, loghub %q (built once, then cached)", e.Opt.Size, e.Opt.Seed, dir)
		t0 := time.Now()
		path, st, err := CachedCorpus(e.Opt.CacheDir, CorpusOptions{Size: int64(e.Opt.Size), Seed: e.Opt.Seed, LoghubDir: dir})
		e.corpusPath, e.corpusStats, e.corpusErr = path, &st, err
		if err == nil {
			e.Logf("corpus: %s ready in %.1f s", path, time.Since(t0).Seconds())
		}
	})
	return e.corpusPath, e.corpusStats, e.corpusErr
}

// RuleSet is a named list of rules to measure.
type RuleSet struct {
	Name  string
	Rules []match.Rule
}

// RuleSets returns the sets chosen with --rules.
func (e *Env) RuleSets() ([]RuleSet, error) {
	def := RuleSet{"default", match.DefaultRules()}
	many := RuleSet{"many", match.ManyRules(e.Opt.ManyRules)}
	switch e.Opt.Rules {
	case "default":
		return []RuleSet{def}, nil
	case "many":
		return []RuleSet{many}, nil
	case "both", "":
		return []RuleSet{def, many}, nil
	}
	return nil, fmt.Errorf("unknown --rules %q: want default, many or both", e.Opt.Rules)
}

// Run runs the mode named in opt.
func Run(ctx context.Context, opt Options, stdout, stderr io.Writer) error {
	m := modeByName(opt.Mode)
	if m.Run == nil {
		return fmt.Errorf("unknown --mode %q: want one of %s", opt.Mode, strings.Join(modeNames(), ", "))
	}
	if opt.Runs < 1 {
		return fmt.Errorf("--runs must be at least 1, got %d", opt.Runs)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.CPUProfile != "" {
		f, err := os.Create(opt.CPUProfile)
		if err != nil {
			return fmt.Errorf("cannot create --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cannot start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return m.Run(ctx, &Env{Opt: opt, Stdout: stdout, Stderr: stderr})
}

// NewCommand returns the `bench` command.
func NewCommand() *cobra.Command {
	opt := DefaultOptions()
	var help strings.Builder
	for _, n := range modeNames() {
		fmt.Fprintf(&help, "  %-10s %s\n", n, modeByName(n).Help)
	}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure matching throughput on a generated corpus against baselines",
		Long: `Measure TinyWatcher on a deterministic corpus (loghub samples mixed with
synthetic nginx, logfmt, JSON, syslog and stack-trace lines, ~1% incidents),
with the same rules and file for every runner, and cross-check their counts.

Modes:
` + help.String(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return Run(ctx, opt, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Mode, "mode", opt.Mode, "what to measure: "+strings.Join(modeNames(), ", "))
	f.Var(&opt.Size, "size", "corpus size to generate (units: KiB, MiB, GiB, KB, MB, GB)")
	f.Uint64Var(&opt.Seed, "seed", opt.Seed, "corpus seed")
	f.IntVar(&opt.Workers, "workers", 0, "workers for the parallel runner (default GOMAXPROCS)")
	f.IntVar(&opt.Runs, "runs", opt.Runs, "repetitions of each measurement; medians are reported")
	f.StringVar(&opt.Rules, "rules", opt.Rules, "rule sets: default, many or both")
	f.IntVar(&opt.ManyRules, "many-rules", opt.ManyRules, "number of rules in the \"many\" set")
	f.BoolVar(&opt.JSON, "json", false, "print a machine-readable JSON report")
	f.StringVar(&opt.Corpus, "corpus", "", "use this log file instead of generating a corpus")
	f.StringVar(&opt.Loghub, "loghub", "", "loghub samples dir (default: ../shared/corpus/loghub beside the repository root, found upwards from the working directory; \"none\" for synthetic lines only)")
	f.StringVar(&opt.CacheDir, "cache-dir", "", "where generated corpora are kept (default $TMPDIR/tinywatcher-bench)")
	f.Var(&opt.NaivePrefix, "naive-prefix", "bytes of the corpus the naive baseline scans for up to 64 rules, proportionally less for more; its rate is reported for the whole")
	f.IntVar(&opt.Top, "top", opt.Top, "rules listed in the per-rule table")
	f.BoolVar(&opt.NoExternal, "no-external", false, "skip grep and rg")
	f.StringVar(&opt.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	for _, n := range modeNames() {
		if m := modeByName(n); m.Flags != nil {
			m.Flags(f)
		}
	}
	return cmd
}

// Host describes the machine a report was measured on; every mode's report
// embeds it (its fields are flattened into the JSON).
type Host struct {
	Mode       string `json:"mode"`
	GoVersion  string `json:"go_version"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	LoadAvg    string `json:"loadavg,omitempty"` // /proc/loadavg at the start: other load skews figures
}

func newHost(mode string) Host {
	return Host{
		Mode: mode, GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvg: loadAvg(),
	}
}

// readCorpus returns the corpus file (see CorpusFile) read into memory, and
// how long reading it took.
func (e *Env) readCorpus() (path string, gen *CorpusStats, data []byte, read time.Duration, err error) {
	path, gen, err = e.CorpusFile()
	if err != nil {
		return "", nil, nil, 0, err
	}
	t0 := time.Now()
	data, err = os.ReadFile(path)
	if err != nil {
		return "", nil, nil, 0, fmt.Errorf("cannot read corpus: %w", err)
	}
	return path, gen, data, time.Since(t0), nil
}
