package bench

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/tinywatcher/tinywatcher/match"
)

// corpusVersion changes whenever the generator's output for the same
// options changes, so cached corpora are not reused across versions.
const corpusVersion = 1

// DefaultCorpusSize is the corpus size used when none is given.
const DefaultCorpusSize = 256 << 20

// CorpusOptions says what corpus to build. The same options always give
// the same bytes.
type CorpusOptions struct {
	// Size is the minimum number of bytes; the corpus stops at the end of
	// the incident or line that crosses it.
	Size int64
	// Seed drives the PCG generator.
	Seed uint64
	// LoghubDir holds the loghub *_2k.log samples; "" builds a synthetic-only
	// corpus.
	LoghubDir string
	// IncidentRate is the target fraction of lines that belong to an
	// incident; 0 means 1%.
	IncidentRate float64
	// Rules classify loghub sample lines: lines that match a rule are
	// incidents, the others benign. nil means match.DefaultRules().
	Rules []match.Rule
}

// CorpusStats describes a built corpus.
type CorpusStats struct {
	Bytes          int64            `json:"bytes"`
	Lines          int64            `json:"lines"`
	IncidentLines  int64            `json:"incident_lines"`  // lines written as part of an incident
	IncidentEvents int64            `json:"incident_events"` // incidents (one or more lines each)
	Kinds          map[string]int64 `json:"kinds"`           // lines per generator kind
	LoghubSystems  []string         `json:"loghub_systems,omitempty"`
	LoghubBenign   int              `json:"loghub_benign_pool"`   // sample lines no rule matches
	LoghubIncident int              `json:"loghub_incident_pool"` // sample lines some rule matches
	Seed           uint64           `json:"seed"`
	Key            string           `json:"key"` // hash of every input of the generator
}

// loghubPools is the loghub sample split into lines no rule matches and
// lines some rule matches, per system, in file-name order.
type loghubPools struct {
	systems  []string
	benign   [][][]byte // per system
	incident [][]byte   // all systems together
	hash     []byte
}

var (
	loghubMu    sync.Mutex
	loghubCache = map[string]*loghubPools{}
)

// loadLoghub reads and classifies the samples; results are remembered per
// directory and rule set, since classifying 32,000 lines with the naive
// matcher takes a second or two.
func loadLoghub(dir string, rules []match.Rule) (*loghubPools, error) {
	key := dir
	for _, r := range rules {
		e, err := match.RuleExpr(r)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		key += "\n" + e
	}
	loghubMu.Lock()
	defer loghubMu.Unlock()
	if p := loghubCache[key]; p != nil {
		return p, nil
	}
	p, err := readLoghub(dir, rules)
	if err == nil {
		loghubCache[key] = p
	}
	return p, err
}

func readLoghub(dir string, rules []match.Rule) (*loghubPools, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_2k.log"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *_2k.log loghub samples in %q; pass --loghub DIR (or --loghub none for a synthetic-only corpus)", dir)
	}
	sort.Strings(files)
	prog, err := match.Compile(rules)
	if err != nil {
		return nil, fmt.Errorf("cannot compile the rules that classify loghub lines: %w", err)
	}
	naive, err := prog.NewNaive()
	if err != nil {
		return nil, err
	}
	p := &loghubPools{}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read loghub sample: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(f), "_2k.log")
		h.Write([]byte(name))
		h.Write(data)
		var benign [][]byte
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			if len(line) == 0 {
				continue
			}
			hit := false
			if err := naive.Scan(line, nil, func([]byte, match.Bits) { hit = true }); err != nil {
				return nil, err
			}
			if hit {
				p.incident = append(p.incident, line)
			} else {
				benign = append(benign, line)
			}
		}
		if len(benign) > 0 {
			p.systems = append(p.systems, name)
			p.benign = append(p.benign, benign)
		}
	}
	p.hash = h.Sum(nil)
	return p, nil
}

func (o *CorpusOptions) normalize() {
	if o.Size <= 0 {
		o.Size = DefaultCorpusSize
	}
	if o.IncidentRate <= 0 {
		o.IncidentRate = 0.01
	}
	if o.Rules == nil {
		o.Rules = match.DefaultRules()
	}
}

// corpusKey hashes every input of the generator.
func corpusKey(o CorpusOptions, pools *loghubPools) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "v%d size=%d seed=%d rate=%g\n", corpusVersion, o.Size, o.Seed, o.IncidentRate)
	for _, r := range o.Rules {
		e, err := match.RuleExpr(r)
		if err != nil {
			return "", fmt.Errorf("rule %q: %w", r.Name, err)
		}
		fmt.Fprintf(h, "%s\n", e)
	}
	if pools != nil {
		h.Write(pools.hash)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// BuildCorpus writes the corpus described by o to w and returns its
// statistics. Output is a pure function of o (and of the loghub files).
func BuildCorpus(w io.Writer, o CorpusOptions) (CorpusStats, error) {
	o.normalize()
	var pools *loghubPools
	if o.LoghubDir != "" {
		var err error
		if pools, err = loadLoghub(o.LoghubDir, o.Rules); err != nil {
			return CorpusStats{}, err
		}
	}
	key, err := corpusKey(o, pools)
	if err != nil {
		return CorpusStats{}, err
	}
	return buildCorpus(w, o, pools, key)
}

func buildCorpus(w io.Writer, o CorpusOptions, pools *loghubPools, key string) (CorpusStats, error) {
	st := CorpusStats{Kinds: map[string]int64{}, Seed: o.Seed, Key: key}
	if pools != nil {
		st.LoghubSystems = pools.systems
		st.LoghubIncident = len(pools.incident)
		for _, b := range pools.benign {
			st.LoghubBenign += len(b)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGen(o.Seed, pools)
	var buf []byte
	for st.Bytes < o.Size {
		incident := float64(st.IncidentLines) < o.IncidentRate*float64(st.Lines+1) && g.r.IntN(16) == 0
		var kind string
		var n int
		buf = buf[:0]
		if incident {
			buf, kind, n = g.incident(buf)
			st.IncidentLines += int64(n)
			st.IncidentEvents++
			kind = "incident/" + kind
		} else {
			buf, kind = g.benign(buf)
			n = 1
		}
		st.Kinds[kind] += int64(n)
		st.Lines += int64(n)
		st.Bytes += int64(len(buf))
		if _, err := bw.Write(buf); err != nil {
			return st, err
		}
	}
	return st, bw.Flush()
}

// CachedCorpus returns the path of the corpus for o under dir (default
// $TMPDIR/tinywatcher-bench), building it first unless a complete copy is
// already there. The file name carries size, seed and a hash of every
// input, so a changed generator, rule set or sample never reuses a stale
// file.
func CachedCorpus(dir string, o CorpusOptions) (string, CorpusStats, error) {
	o.normalize()
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tinywatcher-bench")
	}
	var pools *loghubPools
	if o.LoghubDir != "" {
		var err error
		if pools, err = loadLoghub(o.LoghubDir, o.Rules); err != nil {
			return "", CorpusStats{}, err
		}
	}
	key, err := corpusKey(o, pools)
	if err != nil {
		return "", CorpusStats{}, err
	}
	base := filepath.Join(dir, fmt.Sprintf("corpus-%d-%d-%s", o.Size, o.Seed, key))
	path, statsPath := base+".log", base+".json"
	if st, ok := readCachedStats(path, statsPath); ok {
		return path, st, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", CorpusStats{}, fmt.Errorf("cannot create corpus cache dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "corpus-*.tmp")
	if err != nil {
		return "", CorpusStats{}, fmt.Errorf("cannot create corpus file: %w", err)
	}
	st, err := buildCorpus(tmp, o, pools, key)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", CorpusStats{}, fmt.Errorf("cannot write corpus %s: %w", path, err)
	}
	js, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(statsPath, js, 0o644); err != nil {
		return "", CorpusStats{}, fmt.Errorf("cannot write corpus stats: %w", err)
	}
	return path, st, nil
}

func readCachedStats(path, statsPath string) (CorpusStats, bool) {
	var st CorpusStats
	js, err := os.ReadFile(statsPath)
	if err != nil || json.Unmarshal(js, &st) != nil {
		return st, false
	}
	fi, err := os.Stat(path)
	return st, err == nil && fi.Size() == st.Bytes
}

// FindLoghub looks for the loghub samples: from start (the working
// directory when "") upwards, at <repo root>/../shared/corpus/loghub, then
// at <dir>/shared/corpus/loghub and <dir>/corpus/loghub of every ancestor.
func FindLoghub(start string) (string, error) {
	if start == "" {
		var err error
		if start, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	start, _ = filepath.Abs(start)
	has := func(d string) bool {
		m, _ := filepath.Glob(filepath.Join(d, "*_2k.log"))
		return len(m) > 0
	}
	for d := start; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if c := filepath.Join(d, "..", "shared", "corpus", "loghub"); has(c) {
				return filepath.Clean(c), nil
			}
		}
		for _, c := range []string{filepath.Join(d, "shared", "corpus", "loghub"), filepath.Join(d, "corpus", "loghub")} {
			if has(c) {
				return c, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("cannot find the loghub samples (../shared/corpus/loghub beside the repository root); pass --loghub DIR, or --loghub none for a synthetic-only corpus")
}

// seedPCG derives the two PCG words from the seed.
func seedPCG(seed uint64) *rand.Rand {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	s := sha256.Sum256(b[:])
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])))
}
