package match

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wasilibs/go-re2/experimental"
)

// extraRules exercise the corners of the design: rules without literals
// (residual rules, several of them), anchors, classes that could cross a
// newline in a block scan, case folding beyond ASCII, U+FFFD, text rules.
func extraRules() []Rule {
	return []Rule{
		{Name: "numeric-only-line", Pattern: `^\d+$`},
		{Name: "empty-line", Pattern: `^$`},
		{Name: "blank-line", Pattern: `^\s*$`},
		{Name: "trailing-space", Pattern: `\s$`},
		{Name: "three-not-x-at-end", Pattern: `[^x]{3}$`},
		{Name: "crlf", Pattern: `\r$`},
		{Name: "multiline-flag", Pattern: `(?m)^ERROR`},
		{Name: "newline-literal", Pattern: `a\nb`},
		{Name: "text-anchor", Pattern: `\A\[Sun`},
		{Name: "text-end", Pattern: `HTTPS\z`},
		{Name: "word-error", Pattern: `\bERROR\b`},
		{Name: "error-or-warn", Pattern: `(?i)error|warn`},
		{Name: "dotall-panic", Pattern: `(?s).*panic`},
		{Name: "kelvin", Pattern: `(?i)kelvin`},
		{Name: "long-s", Text: "syslog", IgnoreCase: true},
		{Name: "strasse", Text: "STRASSE", IgnoreCase: true},
		{Name: "replacement-char", Pattern: `\x{FFFD}`},
		{Name: "non-ascii-run", Pattern: `[\x{80}-\x{10FFFF}]{2,}`},
		{Name: "e-acute", Pattern: `(?i)CAFÉ`},
		{Name: "short-text", Text: "\" 5"},
		{Name: "short-fold", Text: "ok", IgnoreCase: true},
		{Name: "any-char", Pattern: `^.$`},
		{Name: "not-newline-class", Pattern: `ERROR[^\]]*truncated`},
		{Name: "space-class", Pattern: `failed\s+password`},
		{Name: "star", Pattern: `x*`},
		{Name: "digits-dot", Pattern: `\d+\.\d+\.\d+\.\d+`},
		{Name: "empty-text", Text: ""},
	}
}

func testRules() []Rule { return append(DefaultRules(), extraRules()...) }

// testCorpus is the first lines of every loghub system plus the synthetic
// lines, interleaved.
func testCorpus(tb testing.TB, perSystem int) []byte {
	var out bytes.Buffer
	for k, sys := range loghubSystems {
		b := readLoghub(tb, sys)
		i := 0
		for l := range bytes.Lines(b) {
			if i >= perSystem {
				break
			}
			out.Write(l)
			i++
		}
		// Synthetic lines in between, some CRLF.
		for j, s := range syntheticLines {
			if (j+k)%3 == 0 {
				out.WriteString(s)
				if j%2 == 0 {
					out.WriteByte('\r')
				}
				out.WriteByte('\n')
			}
		}
	}
	return out.Bytes()
}

func randomMask(rng *rand.Rand, n int) Bits {
	m := NewBits(n)
	for i := range n {
		if rng.IntN(2) == 0 {
			m.Set(i)
		}
	}
	return m
}

// TestDiffRealistic compares Matcher and Naive with the realistic rules
// plus extraRules over loghub and synthetic lines, in blocks of random
// sizes, with random source masks.
func TestDiffRealistic(t *testing.T) {
	rules := testRules()
	_, m, n := mustProgram(t, rules)
	per := 250
	if raceEnabled || testing.Short() {
		per = 3
	}
	corpus := testCorpus(t, per)
	rng := rand.New(rand.NewPCG(7, 7))
	masks := []Bits{nil, NewBits(len(rules)), func() Bits { b := NewBits(len(rules)); b.Set(len(rules) - 5); return b }()}
	for range 4 {
		masks = append(masks, randomMask(rng, len(rules)))
	}
	// Masks of 1 to 4 rules: lines with few rules left are verified by the
	// batched per-rule search (batchVerify).
	for range 10 {
		b := NewBits(len(rules))
		for range 1 + rng.IntN(4) {
			b.Set(rng.IntN(len(rules)))
		}
		masks = append(masks, b)
	}
	total := 0
	for mi, mask := range masks {
		rest := corpus
		for len(rest) > 0 {
			size := 1 + rng.IntN(16<<10)
			if mi == 0 {
				size = 64 << 10
			}
			blk := splitBlocks(rest, size)[0]
			rest = rest[len(blk):]
			// Drop the final '\n' of some blocks: the last line of a block
			// need not end with one.
			if rng.IntN(4) == 0 && len(blk) > 0 && blk[len(blk)-1] == '\n' {
				blk = blk[:len(blk)-1]
			}
			total += len(diff(t, m, n, blk, mask))
		}
	}
	st := m.Stats()
	t.Logf("%d reported lines; stats %+v", total, st)
	if !raceEnabled && !testing.Short() && (st.ResidualScans == 0 || st.BatchEvals == 0 || st.SetEvals == 0 || st.InvalidUTF8 == 0) {
		t.Errorf("a path was not exercised: %+v", st)
	}
}

// TestEdgeCases: f-tests over odd blocks; Matcher must agree with Naive
// for every rule of testRules, with all rules and with a random mask.
func TestEdgeCases(t *testing.T) {
	rules := testRules()
	_, m, n := mustProgram(t, rules)
	rng := rand.New(rand.NewPCG(3, 4))
	f := func(block string) {
		t.Helper()
		diff(t, m, n, []byte(block), nil)
		diff(t, m, n, []byte(block), randomMask(rng, len(rules)))
	}
	f("")
	f("\n")
	f("\n\n")
	f("\n\n\n")
	f("12345")
	f("12345\n")
	f("abc\n\n12345")
	f("ERROR")
	f("ERROR\n")
	f("\nERROR")
	f(" ")
	f("x\n \n")
	f("ok\nOK\nOk\n")
	f("\r\n\r\nERROR\r\n")
	f("a\nb")
	f("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6\r\n")
	f("HTTPS\nHTTPS\r\n")
	f("Kelvin \u212Aelvin \u212AELVIN\n\u017Fyslog SYSLOG\nstra\u00dfe STRASSE\n")
	f("caf\u00e9 CAF\u00c9 Caf\u00e9\n")
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	f(string(all))
	f(string(all) + "\n" + string(all))
	f("bad \xff\xfe utf8 ERROR \xc3\n\xe2\x82 panic\n\xed\xa0\x80 surrogate\n")
	f("\xff\n\xff\xff\xff\n\xef\xbf\xbd\n")
	f("ERROR \xff truncated ]\n")
	f("\x00\x00ERROR\x00\n")
	if raceEnabled {
		return // go-re2 under -race is too slow for the long lines below
	}
	long := strings.Repeat("a", 1<<20)
	f(long)
	f(long + " ERROR\n" + long + "\n")
	f("Out of memory: Killed process 1 " + long + "\n")
	f(strings.Repeat("ERROR ", 10000) + "\n")
	f(strings.Repeat("\n", 5000) + "12345\n")
	f(strings.Repeat("12345\n", 3000))
	f(strings.Repeat("x\n", 3000))
}

// manyLines instantiates ManyRules' templates into log lines, some of
// which match one or several rules.
func manyLines(rng *rand.Rand, n int) []byte {
	repl := strings.NewReplacer(`\d+`, "42", `\S+`, "host-1", `[\d.]+`, "1.2.3", `\(`, "(", `\)`, ")", `\[`, "[", `\.`, ".", `\\`, "")
	var out bytes.Buffer
	for range n {
		i := rng.IntN(len(manyProgs) * len(manyMsgs) * 2)
		prog := manyProgs[i%len(manyProgs)]
		msg := manyMsgs[(i/len(manyProgs))%len(manyMsgs)]
		word := manyWords[rng.IntN(len(manyWords))]
		if rng.IntN(3) == 0 {
			word = strings.ToUpper(word)
		}
		fmt.Fprintf(&out, "Nov 23 22:10:%02d host1 %s[%d]: %s\n", rng.IntN(60), prog, 1000+rng.IntN(2000), repl.Replace(fmt.Sprintf(msg, word)))
		if rng.IntN(10) == 0 {
			fmt.Fprintf(&out, "Nov 23 22:10:00 host1 %s[%d]: %s exited\n", prog, 1000+rng.IntN(2000), word)
		}
	}
	return out.Bytes()
}

// TestManyRules: 1,500 rules (go-re2 sets over 1,000+ rules), Matcher
// against Naive.
func TestManyRules(t *testing.T) {
	rules := ManyRules(1500)
	_, m, n := mustProgram(t, rules)
	rng := rand.New(rand.NewPCG(5, 6))
	lines := 2000
	if raceEnabled || testing.Short() {
		lines = 20
	}
	block := manyLines(rng, lines)
	hits := diff(t, m, n, block, nil)
	diff(t, m, n, block, randomMask(rng, len(rules)))
	if len(hits) == 0 && !raceEnabled {
		t.Fatalf("no line matched: the test corpus does not exercise the rules")
	}
	t.Logf("%d sets, %d matched lines, stats %+v", len(m.sets), len(hits), m.Stats())
}

// TestSetOverManyRules forces set evaluation: each line matches many of
// 1,200 rules at once.
func TestSetOverManyRules(t *testing.T) {
	var rules []Rule
	for i := range 1200 {
		rules = append(rules, Rule{Name: fmt.Sprint("r", i), Pattern: fmt.Sprintf(`(?:alpha|beta)\w* item%d\b`, i%300)})
	}
	_, m, n := mustProgram(t, rules)
	var b bytes.Buffer
	for i := range 50 {
		fmt.Fprintf(&b, "alpha item%d beta2 item%d gamma item%d\n", i, i+7, i*3)
	}
	if len(m.sets) == 0 {
		t.Fatal("no go-re2 set compiled for 1,200 rules")
	}
	hits := diff(t, m, n, b.Bytes(), nil)
	st := m.Stats()
	if st.SetEvals == 0 || len(hits) == 0 {
		t.Fatalf("set path not exercised: %d hits, %+v", len(hits), st)
	}
	t.Logf("%d sets, stats %+v", len(m.sets), st)
}

// TestCompileErrors: errors name the rule.
func TestCompileErrors(t *testing.T) {
	f := func(r Rule, want string) {
		t.Helper()
		_, err := Compile([]Rule{{Name: "ok", Text: "x"}, r})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Compile(%+v) = %v, want error containing %q", r, err, want)
		}
	}
	f(Rule{Name: "bad-paren", Pattern: `a(b`}, `rule "bad-paren"`)
	f(Rule{Name: "bad-repeat", Pattern: `a{2000}`}, `rule "bad-repeat"`)
	f(Rule{Name: "perl-lookahead", Pattern: `a(?=b)`}, `rule "perl-lookahead"`)
}

// TestMatcherPerGoroutine: one Matcher per goroutine over a shared
// Program (run it with -race; the input is tiny).
func TestMatcherPerGoroutine(t *testing.T) {
	p, err := Compile(testRules())
	if err != nil {
		t.Fatal(err)
	}
	block := []byte(strings.Join(syntheticLines, "\n"))
	n, _ := p.NewNaive()
	want := scanHits(t, n, block, nil)
	done := make(chan []hit)
	for range 2 {
		go func() {
			m, err := p.NewMatcher()
			if err != nil {
				t.Error(err)
				done <- nil
				return
			}
			var got []hit
			for range 3 {
				got = scanHits(t, m, block, nil)
			}
			done <- got
		}()
	}
	for range 2 {
		if got := <-done; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("goroutine result differs from naive")
		}
	}
}

// TestSetEvaluationFallback: with a tiny RE2 memory budget RE2 refuses
// large sets (the Matcher splits them) and set evaluation may fail (DFA out
// of memory; the Matcher redoes those lines rule by rule and counts it).
// Either way it must agree with Naive. go-re2 v1.13.0 did not fail an
// evaluation in our attempts, so the fallback itself may go unexercised.
func TestSetEvaluationFallback(t *testing.T) {
	defer func(old int) { setMaxMem = old }(setMaxMem)
	setMaxMem = 1 << 16
	var rules []Rule
	for i := range 40 {
		rules = append(rules, Rule{Name: fmt.Sprint("r", i), Pattern: fmt.Sprintf(`(?:alpha|beta)\w*[^x]{0,20}\s+item%d\b.*(?:end|stop)`, i%13)})
	}
	p, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.NewMatcher()
	if err != nil {
		t.Skipf("RE2 refuses the sets under a tiny budget: %v", err)
	}
	n, _ := p.NewNaive()
	var b bytes.Buffer
	for i := range 30 {
		fmt.Fprintf(&b, "alpha item%d beta2 item%d gamma item%d %s end\n", i%13, (i+7)%13, (i*3)%13, strings.Repeat("word ", 50))
	}
	diff(t, m, n, b.Bytes(), nil)
	st := m.Stats()
	t.Logf("%d sets, stats %+v", len(m.sets), st)
	if len(m.sets) < 2 {
		t.Errorf("sets were not split under a %d-byte budget", setMaxMem)
	}
	if st.SetFallbacks == 0 {
		t.Logf("set evaluation did not fail under a %d-byte budget; fallback not exercised", setMaxMem)
	}
}

// TestCompileSet1500: go-re2 compiles one set over 1,500 rules and its
// answer on a line equals Go's regexp rule by rule. (The Matcher uses sets
// of at most setChunk rules, which are cheaper to evaluate; this shows a
// single large set is not a limit.)
func TestCompileSet1500(t *testing.T) {
	rules := ManyRules(1500)
	exprs := make([]string, len(rules))
	for i, r := range rules {
		exprs[i] = must(RuleExpr(r))
	}
	set, err := experimental.CompileSet(exprs)
	if err != nil {
		t.Fatalf("CompileSet of %d rules: %v", len(exprs), err)
	}
	res := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		res[i] = regexp.MustCompile(e)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	lines := bytes.Split(manyLines(rng, 200), []byte("\n"))
	if raceEnabled {
		lines = lines[:5]
	}
	n := 0
	for _, line := range lines {
		ids, err := set.FindAllWithError(line, -1)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		slices.Sort(ids)
		var want []int
		for i, re := range res {
			if re.Match(line) {
				want = append(want, i)
			}
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("line %q: set %v, regexp %v", line, ids, want)
		}
		n += len(ids)
	}
	if n == 0 && !raceEnabled {
		t.Fatal("no line matched any rule")
	}
}

// TestStrides: rule sets whose literal lengths lead to each probe stride;
// every literal is planted at every alignment, and Matcher must agree with
// Naive.
func TestStrides(t *testing.T) {
	long := []string{"Out of memory", "Kernel panic", "Traceback (most", "No such file"}
	f := func(wantStride int, extra ...string) {
		t.Helper()
		var rules []Rule
		for _, s := range append(append([]string(nil), long...), extra...) {
			rules = append(rules, Rule{Name: s, Text: s})
		}
		rules = append(rules, Rule{Name: "fold", Text: "Timed Out While", IgnoreCase: true})
		p, m, n := mustProgram(t, rules)
		if p.ls.stride != wantStride {
			t.Fatalf("stride %d, want %d", p.ls.stride, wantStride)
		}
		var b bytes.Buffer
		for _, r := range rules {
			for k := range 9 {
				fmt.Fprintf(&b, "%s%s%s\n", strings.Repeat("x", k), r.Text, strings.Repeat("y", k))
				fmt.Fprintf(&b, "%s%s\n", strings.Repeat("z", k), strings.ToUpper(r.Text))
				fmt.Fprintf(&b, "%s%s", strings.Repeat("w", k), r.Text[:len(r.Text)-1]+"\n")
			}
		}
		b.WriteString("Out of memor")
		for _, blk := range [][]byte{b.Bytes(), b.Bytes()[:b.Len()-3], b.Bytes()[1:]} {
			if len(diff(t, m, n, blk, nil)) == 0 {
				t.Fatal("nothing matched")
			}
		}
	}
	f(4)
	f(3, "abcdef", "bcdefg", "cdefgh", "defghi", "efghij")
	f(2, "abcde", "bcdef", "cdefg", "defgh", "efghi")
	f(1, "abcd", "bcde", "cdef", "defg", "efgh")
}

// TestBatchChunks runs the batched per-rule search (batchVerify) with tiny
// search chunks, so that chunk boundaries and resumption after hits fall
// everywhere, and compares with Naive.
func TestBatchChunks(t *testing.T) {
	defer func(c int) { batchChunk = c }(batchChunk)
	rules := testRules()
	per := 60
	if raceEnabled || testing.Short() {
		per = 3
	}
	corpus := testCorpus(t, per)
	rng := rand.New(rand.NewPCG(3, 9))
	for _, chunk := range []int{0, 1, 100} {
		batchChunk = chunk
		_, m, n := mustProgram(t, rules)
		for range 8 {
			mask := NewBits(len(rules))
			for range 1 + rng.IntN(3) {
				mask.Set(rng.IntN(len(rules)))
			}
			for _, blk := range splitBlocks(corpus, 1+rng.IntN(32<<10)) {
				diff(t, m, n, blk, mask)
			}
		}
		if m.Stats().BatchEvals == 0 {
			t.Errorf("chunk %d: no batched search", chunk)
		}
	}
}
