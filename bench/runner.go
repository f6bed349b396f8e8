package bench

import (
	"bytes"
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinywatcher/tinywatcher/match"
)

// BlockSize is the size of the blocks of whole lines handed to matchers,
// as the sources' framers cut them.
const BlockSize = 64 << 10

// SplitBlocks cuts data into blocks of whole lines of at most size bytes,
// each cut after the last '\n' that fits; a line longer than size is a
// block of its own. The blocks alias data.
func SplitBlocks(data []byte, size int) [][]byte {
	var blocks [][]byte
	for len(data) > 0 {
		if len(data) <= size {
			blocks = append(blocks, data)
			break
		}
		n := bytes.LastIndexByte(data[:size], '\n') + 1
		if n == 0 {
			if n = bytes.IndexByte(data[size:], '\n'); n < 0 {
				n = len(data)
			} else {
				n += size + 1
			}
		}
		blocks = append(blocks, data[:n])
		data = data[n:]
	}
	return blocks
}

// CountLines counts lines the way Scan sees them: '\n'-ended, plus a last
// line without one.
func CountLines(data []byte) int64 {
	n := int64(bytes.Count(data, []byte{'\n'}))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// Scanner is what Matcher and Naive have in common.
type Scanner interface {
	Scan(block []byte, mask match.Bits, fn func(line []byte, rules match.Bits)) error
}

// ScanResult counts what a scan found.
type ScanResult struct {
	MatchLines int64   // lines matching at least one rule
	PerRule    []int64 // lines matching each rule, by rule index
}

// Equal reports whether two results agree line for line and rule for rule.
func (r ScanResult) Equal(o ScanResult) bool {
	if r.MatchLines != o.MatchLines || len(r.PerRule) != len(o.PerRule) {
		return false
	}
	for i := range r.PerRule {
		if r.PerRule[i] != o.PerRule[i] {
			return false
		}
	}
	return true
}

// Diff describes the first differences between two results, for messages.
func (r ScanResult) Diff(o ScanResult, prog *match.Program) string {
	s := fmt.Sprintf("match lines %d vs %d", r.MatchLines, o.MatchLines)
	n := 0
	for i := range r.PerRule {
		if i < len(o.PerRule) && r.PerRule[i] != o.PerRule[i] && n < 5 {
			s += fmt.Sprintf("; rule %q %d vs %d", prog.Rule(i).Name, r.PerRule[i], o.PerRule[i])
			n++
		}
	}
	return s
}

// ScanBlocks scans blocks with one goroutine per scanner, each taking the
// next unscanned block, and adds up what they found. Each scanner must be
// used by this call only.
func ScanBlocks(blocks [][]byte, scanners []Scanner, nrules int) (ScanResult, error) {
	var next atomic.Int64
	results := make([]ScanResult, len(scanners))
	errs := make([]error, len(scanners))
	var wg sync.WaitGroup
	for w, sc := range scanners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines := int64(0)
			perRule := make([]int64, nrules)
			fn := func(_ []byte, rules match.Bits) {
				lines++
				for wi, word := range rules {
					for word != 0 {
						perRule[wi<<6+bits.TrailingZeros64(word)]++
						word &= word - 1
					}
				}
			}
			for {
				i := next.Add(1) - 1
				if i >= int64(len(blocks)) {
					break
				}
				if err := sc.Scan(blocks[i], nil, fn); err != nil {
					errs[w] = err
					break
				}
			}
			results[w] = ScanResult{MatchLines: lines, PerRule: perRule}
		}()
	}
	wg.Wait()
	total := ScanResult{PerRule: make([]int64, nrules)}
	for w, r := range results {
		if errs[w] != nil {
			return total, errs[w]
		}
		total.MatchLines += r.MatchLines
		for i, c := range r.PerRule {
			total.PerRule[i] += c
		}
	}
	return total, nil
}

// Measurement is one timed scan.
type Measurement struct {
	Wall    time.Duration
	CPU     time.Duration // process CPU time (user + system) during the scan; 0 where not measured
	Mallocs uint64        // heap allocations during the scan, all goroutines
	Result  ScanResult
}

// MeasureScan times one ScanBlocks and counts the heap allocations made
// meanwhile (runtime.MemStats.Mallocs). Scanners are built beforehand, so
// neither compilation nor set-up is counted.
func MeasureScan(blocks [][]byte, scanners []Scanner, nrules int) (Measurement, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	start := time.Now()
	res, err := ScanBlocks(blocks, scanners, nrules)
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&m1)
	return Measurement{Wall: wall, CPU: cpu, Mallocs: m1.Mallocs - m0.Mallocs, Result: res}, err
}

// RuleCount is one rule's number of matching lines.
type RuleCount struct {
	Rule    string `json:"rule"`
	Matches int64  `json:"matches"`
}

// perRuleCounts lists every rule's count, most matches first, then by rule
// order.
func perRuleCounts(prog *match.Program, r ScanResult) []RuleCount {
	out := make([]RuleCount, len(r.PerRule))
	for i, c := range r.PerRule {
		out[i] = RuleCount{Rule: prog.Rule(i).Name, Matches: c}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Matches > out[b].Matches })
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianU(xs []uint64) float64 {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return median(f)
}
