package match

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const loghubDir = "/work/shared/corpus/loghub"

var loghubSystems = []string{
	"Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
	"Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
}

// hit is one reported line: its offset in the block and its rules.
type hit struct {
	off   int
	rules string
}

type scanner interface {
	Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error
}

// scanHits scans block and returns what was reported; it checks that
// each reported line is a sub-slice of block ending at a line boundary.
func scanHits(t testing.TB, s scanner, block []byte, mask Bits) []hit {
	t.Helper()
	var out []hit
	err := s.Scan(block, mask, func(line []byte, rules Bits) {
		off := cap(block) - cap(line)
		if off < 0 || off+len(line) > len(block) || !bytes.Equal(block[off:off+len(line)], line) {
			t.Fatalf("reported line %q is not a sub-slice of the block", line)
		}
		var rs []string
		rules.Each(func(i int) { rs = append(rs, strconv.Itoa(i)) })
		out = append(out, hit{off: off, rules: strings.Join(rs, ",")})
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

func mustProgram(t testing.TB, rules []Rule) (*Program, *Matcher, *Naive) {
	t.Helper()
	p, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.NewMatcher()
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.NewNaive()
	if err != nil {
		t.Fatal(err)
	}
	return p, m, n
}

// diff compares Matcher and Naive on block and returns Naive's hits.
func diff(t testing.TB, m *Matcher, n *Naive, block []byte, mask Bits) []hit {
	t.Helper()
	got := scanHits(t, m, block, mask)
	want := scanHits(t, n, block, mask)
	if !slices.Equal(got, want) {
		gi := map[int]string{}
		for _, h := range got {
			gi[h.off] = h.rules
		}
		wi := map[int]string{}
		for _, h := range want {
			wi[h.off] = h.rules
		}
		shown := 0
		for _, h := range want {
			if gi[h.off] != h.rules && shown < 10 {
				t.Errorf("line %q: matcher %q, naive %q", lineAt(block, h.off), gi[h.off], h.rules)
				shown++
			}
		}
		for _, h := range got {
			if _, ok := wi[h.off]; !ok && shown < 10 {
				t.Errorf("line %q: matcher %q, naive none", lineAt(block, h.off), h.rules)
				shown++
			}
		}
		t.Fatalf("matcher and naive disagree (mask %v): %d vs %d lines", mask, len(got), len(want))
	}
	return want
}

func lineAt(b []byte, off int) []byte {
	if off >= len(b) {
		return nil
	}
	l := b[off:]
	if i := bytes.IndexByte(l, '\n'); i >= 0 {
		l = l[:i]
	}
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}

func readLoghub(t testing.TB, system string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(loghubDir, system+"_2k.log"))
	if err != nil {
		t.Skipf("loghub corpus not available: %v", err)
	}
	return b
}

// templateRule turns a loghub template into a rule: literal pieces, <*> as
// a lazy wildcard.
func templateRule(id, tmpl string) (Rule, bool) {
	pieces := strings.Split(tmpl, "<*>")
	nonEmpty := false
	for i, p := range pieces {
		if strings.TrimSpace(p) != "" {
			nonEmpty = true
		}
		pieces[i] = regexp.QuoteMeta(p)
	}
	if !nonEmpty {
		return Rule{}, false
	}
	return Rule{Name: id, Pattern: strings.Join(pieces, `.*?`)}, true
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// TestLoghubTemplates: one rule per loghub template; every line labelled
// with a template must be reported with its rule, and Matcher must agree
// with Naive on every line of every system.
func TestLoghubTemplates(t *testing.T) {
	for _, sys := range loghubSystems {
		t.Run(sys, func(t *testing.T) {
			block := readLoghub(t, sys)
			if raceEnabled || testing.Short() {
				block = firstLines(block, 40)
			}
			var rules []Rule
			ruleOf := map[string]int{}
			skipped := 0
			for _, rec := range readCSV(t, filepath.Join(loghubDir, sys+"_2k.log_templates.csv"))[1:] {
				r, ok := templateRule(rec[0], rec[1])
				if !ok {
					skipped++
					continue
				}
				if _, err := RuleExpr(r); err != nil {
					t.Fatalf("template %s: %v", rec[0], err)
				}
				ruleOf[rec[0]] = len(rules)
				rules = append(rules, r)
			}
			if skipped > 0 {
				t.Logf("%d templates skipped: empty or only wildcards", skipped)
			}
			_, m, n := mustProgram(t, rules)
			hits := diff(t, m, n, block, nil)
			byLine := map[int]string{}
			for _, h := range hits {
				byLine[h.off] = h.rules
			}
			lineOff := []int{0}
			for i, c := range block {
				if c == '\n' {
					lineOff = append(lineOff, i+1)
				}
			}
			structured := readCSV(t, filepath.Join(loghubDir, sys+"_2k.log_structured.csv"))
			hdr := structured[0]
			idCol := slices.Index(hdr, "EventId")
			lineCol := slices.Index(hdr, "LineId")
			missed := 0
			for _, rec := range structured[1:] {
				ln, err := strconv.Atoi(rec[lineCol])
				if err != nil {
					t.Fatal(err)
				}
				if ln > len(lineOff) || lineOff[ln-1] >= len(block) {
					continue // beyond a shortened block
				}
				ri, ok := ruleOf[rec[idCol]]
				if !ok {
					continue
				}
				rs := strings.Split(byLine[lineOff[ln-1]], ",")
				if !slices.Contains(rs, strconv.Itoa(ri)) {
					// The template may not match the raw line because loghub
					// normalised the content; check with Go's regexp.
					re := regexp.MustCompile(must(RuleExpr(rules[ri])))
					line := lineAt(block, lineOff[ln-1])
					if re.Match(bytes.TrimSuffix(lineAtFull(block, lineOff[ln-1]), []byte("\r"))) {
						t.Errorf("line %d %q labelled %s not reported with rule %d", ln, line, rec[idCol], ri)
					}
					missed++
				}
			}
			if missed > 0 {
				t.Logf("%d labelled lines do not match their template as written (loghub normalisation)", missed)
			}
			st := m.Stats()
			t.Logf("%d rules, %d reported lines, stats %+v", len(rules), len(hits), st)
		})
	}
}

// firstLines returns the first n lines of b.
func firstLines(b []byte, n int) []byte {
	off := 0
	for range n {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return b
		}
		off += i + 1
	}
	return b[:off]
}

func lineAtFull(b []byte, off int) []byte {
	l := b[off:]
	if i := bytes.IndexByte(l, '\n'); i >= 0 {
		l = l[:i]
	}
	return l
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
