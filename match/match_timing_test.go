package match

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasilibs/go-re2"
)

var benchSink int

// reportCPU adds an "MB/cpu-s" metric: bytes per CPU-second of the whole
// process since start (see cpuTime).
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/d.Seconds()/1e6, "MB/cpu-s")
	}
}

type benchScanner interface {
	Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error
}

func benchScan(b *testing.B, rules []Rule, naive, quiet bool, blockSize int) {
	size := 4 << 20
	if naive {
		size = 1 << 20 // Naive is slow; MB/s does not depend on the size
	}
	corpus := mixedCorpus(b, size, quiet)
	blocks := splitBlocks(corpus, blockSize)
	p, err := Compile(rules)
	if err != nil {
		b.Fatal(err)
	}
	var s benchScanner
	if naive {
		s, err = p.NewNaive()
	} else {
		s, err = p.NewMatcher()
	}
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	fn := func(line []byte, rules Bits) { n++ }
	b.SetBytes(int64(len(corpus)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, blk := range blocks {
			if err := s.Scan(blk, nil, fn); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, cpu0, int64(len(corpus)))
	benchSink += n
	b.ReportMetric(float64(n)/float64(b.N), "matches/op")
}

func BenchmarkScan(b *testing.B) {
	// quiet: loghub lines matching no default rule plus 1% interesting
	// lines; loghub: raw loghub mix (about 10% of its lines match).
	for _, c := range []struct {
		name  string
		quiet bool
	}{{"quiet", true}, {"loghub", false}} {
		b.Run(c.name+"/default/matcher", func(b *testing.B) { benchScan(b, DefaultRules(), false, c.quiet, 64<<10) })
		b.Run(c.name+"/default/naive", func(b *testing.B) { benchScan(b, DefaultRules(), true, c.quiet, 64<<10) })
		b.Run(c.name+"/many1000/matcher", func(b *testing.B) { benchScan(b, ManyRules(1000), false, c.quiet, 64<<10) })
	}
	// Rules without literals: anchored ones run per line with Go's regexp,
	// unanchored ones as one RE2 scan of the block.
	anchored := append(DefaultRules(), Rule{Name: "numeric", Pattern: `^\d+$`}, Rule{Name: "blank", Pattern: `^\s*$`})
	unanchored := append(DefaultRules(), Rule{Name: "five-digits-at-end", Pattern: `\d{5}$`})
	b.Run("quiet/default+anchored-residual/matcher", func(b *testing.B) { benchScan(b, anchored, false, true, 64<<10) })
	b.Run("quiet/default+unanchored-residual/matcher", func(b *testing.B) { benchScan(b, unanchored, false, true, 64<<10) })
	b.Run("quiet/many1000/naive", func(b *testing.B) { benchScan(b, ManyRules(1000), true, true, 64<<10) })
}

// perRuleRE2 is the "go-re2 rule by rule" baseline: every rule compiled
// alone with go-re2 and tried on every line.
type perRuleRE2 struct {
	res   []*re2.Regexp
	rules Bits
}

func newPerRuleRE2(tb testing.TB, p *Program) *perRuleRE2 {
	s := &perRuleRE2{rules: NewBits(p.NumRules())}
	for i := range p.NumRules() {
		e, err := RuleExpr(p.Rule(i))
		if err != nil {
			tb.Fatal(err)
		}
		s.res = append(s.res, re2.MustCompile(e))
	}
	return s
}

func (s *perRuleRE2) Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error {
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		s.rules.Reset()
		for i, re := range s.res {
			if (mask == nil || mask.Has(i)) && re.Match(line) {
				s.rules.Set(i)
			}
		}
		if !s.rules.Empty() {
			fn(line, s.rules)
		}
	}
	return nil
}

// BenchmarkScanBaselines: the go-re2 rule-by-rule baseline (quiet corpus,
// default rules) and plain newline framing (the memory-speed bound).
func BenchmarkScanBaselines(b *testing.B) {
	corpus := mixedCorpus(b, 4<<20, true)
	blocks := splitBlocks(corpus, 64<<10)
	b.Run("re2-per-rule", func(b *testing.B) {
		p, err := Compile(DefaultRules())
		if err != nil {
			b.Fatal(err)
		}
		s := newPerRuleRE2(b, p)
		b.SetBytes(int64(len(corpus)))
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			for _, blk := range blocks {
				s.Scan(blk, nil, func([]byte, Bits) {})
			}
		}
		reportCPU(b, cpu0, int64(len(corpus)))
	})
	b.Run("framing", func(b *testing.B) {
		b.SetBytes(int64(len(corpus)))
		n := 0
		cpu0 := cpuTime()
		defer func() { reportCPU(b, cpu0, int64(len(corpus))) }()
		for b.Loop() {
			for _, blk := range blocks {
				for len(blk) > 0 {
					i := bytes.IndexByte(blk, '\n')
					if i < 0 {
						break
					}
					n++
					blk = blk[i+1:]
				}
			}
		}
		benchSink += n
	})
}

// BenchmarkScanWorkers: W goroutines, each with its own Matcher, share the
// blocks of the corpus; MB/s is the total throughput, as the engine's
// worker pool would see it.
func BenchmarkScanWorkers(b *testing.B) {
	for _, rs := range []struct {
		name  string
		rules []Rule
	}{{"default", DefaultRules()}, {"many1000", ManyRules(1000)}} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", rs.name, workers), func(b *testing.B) {
				corpus := mixedCorpus(b, 4<<20, true)
				blocks := splitBlocks(corpus, 64<<10)
				p, err := Compile(rs.rules)
				if err != nil {
					b.Fatal(err)
				}
				ms := make([]*Matcher, workers)
				for i := range ms {
					if ms[i], err = p.NewMatcher(); err != nil {
						b.Fatal(err)
					}
					for _, blk := range blocks[:4] { // warm up lazily compiled rules
						ms[i].Scan(blk, nil, func([]byte, Bits) {})
					}
				}
				b.SetBytes(int64(len(corpus)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				defer func() { reportCPU(b, cpu0, int64(len(corpus))) }()
				for b.Loop() {
					var next atomic.Int64
					var wg sync.WaitGroup
					for _, m := range ms {
						wg.Go(func() {
							for {
								i := int(next.Add(1)) - 1
								if i >= len(blocks) {
									return
								}
								m.Scan(blocks[i], nil, func([]byte, Bits) {})
							}
						})
					}
					wg.Wait()
				}
			})
		}
	}
}

// BenchmarkScanNoMatch scans a block in which no line matches: it must not
// allocate.
func BenchmarkScanNoMatch(b *testing.B) {
	line := []byte("2026-11-23 22:10:14,001 INFO [pool-3-thread-7] c.e.Service - request served in 12ms for tenant acme\n")
	block := bytes.Repeat(line, (64<<10)/len(line))
	p, err := Compile(DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	m, err := p.NewMatcher()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		m.Scan(block, nil, func([]byte, Bits) { b.Fatal("unexpected match") })
	}
	reportCPU(b, cpu0, int64(len(block)))
}
