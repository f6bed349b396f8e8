package match

import (
	"bytes"
	"sync"
	"testing"
)

var benchSink int

type benchScanner interface {
	Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error
}

func benchScan(b *testing.B, rules []Rule, naive, quiet bool, blockSize int) {
	corpus := mixedCorpus(b, 4<<20, quiet)
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
	for b.Loop() {
		for _, blk := range blocks {
			if err := s.Scan(blk, nil, fn); err != nil {
				b.Fatal(err)
			}
		}
	}
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
	b.Run("quiet/many1000/naive", func(b *testing.B) { benchScan(b, ManyRules(1000), true, true, 64<<10) })
}

// BenchmarkScanParallel runs one Matcher per goroutine (b.RunParallel),
// as the engine's workers do.
func BenchmarkScanParallel(b *testing.B) {
	corpus := mixedCorpus(b, 4<<20, true)
	blocks := splitBlocks(corpus, 64<<10)
	p, err := Compile(DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	b.SetBytes(int64(len(blocks[0])))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		m, err := p.NewMatcher()
		mu.Unlock()
		if err != nil {
			b.Error(err)
			return
		}
		i := 0
		for pb.Next() {
			m.Scan(blocks[i%len(blocks)], nil, func([]byte, Bits) {})
			i++
		}
	})
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
	for b.Loop() {
		m.Scan(block, nil, func([]byte, Bits) { b.Fatal("unexpected match") })
	}
}
