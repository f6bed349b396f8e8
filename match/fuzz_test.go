package match

import (
	"testing"
)

// FuzzMatcher compares Matcher with Naive on random blocks and random
// rules: two fuzzed patterns, a fuzzed text rule (ignore_case from a bit
// of flags) and a few fixed rules, with a mask from the other bits. The
// fixed rules' literals are long, so the fuzzed ones decide the probe
// stride (see litScanner.build).
//
//	go test -fuzz=FuzzMatcher ./match
func FuzzMatcher(f *testing.F) {
	f.Add([]byte("ERROR x\nfoo\n\n12345\r\nbar"), `^\d+$`, `(?i)error`, "foo", uint8(0))
	f.Add([]byte("a\nb\n"), `a\s+b`, `[^x]+$`, "", uint8(1))
	f.Add([]byte("Kelvin \u212a\n\xff\xfe\n"), `(?i)k`, `.`, "S", uint8(2))
	f.Add([]byte("\n\n\n"), `^$`, `x*`, "\n", uint8(3))
	f.Add([]byte("caf\u00e9\nCAF\u00c9"), `(?i)é`, `\bCAF`, "af", uint8(0xff))
	f.Add([]byte("GET / 502 12 \"-\"\n"), `" 5\d\d \d+ "`, `\A.`, `\z`, uint8(4))
	f.Add([]byte("abcabc\nxyz\n"), `(abc|xyz)+`, `z\z`, "bca", uint8(5))
	f.Add([]byte("xfoo\nBAR\nFo0\n"), `foo|bar`, `(?i)fo[o0]|bar`, "ba", uint8(1))
	f.Add([]byte("  at x.y(Z.java:1)\n"), `^\s+at `, `(?i:AT)\s`, "java", uint8(7))
	f.Fuzz(func(t *testing.T, block []byte, pat1, pat2, text string, flags uint8) {
		if len(block) > 4096 || len(pat1) > 64 || len(pat2) > 64 || len(text) > 32 {
			return
		}
		rules := []Rule{
			{Name: "p1", Pattern: pat1},
			{Name: "p2", Pattern: pat2},
			{Name: "text", Text: text, IgnoreCase: flags&1 != 0},
			{Name: "error", Pattern: `(?i)\berror: \w+`},
			{Name: "digits", Pattern: `^\d+$`},
			{Name: "oom", Text: "Out of memory"},
		}
		for _, r := range rules {
			if _, err := RuleExpr(r); err != nil {
				return
			}
		}
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
		var mask Bits
		if flags&2 != 0 {
			mask = NewBits(len(rules))
			for i := range rules {
				if flags&(4<<(i%6)) != 0 {
					mask.Set(i)
				}
			}
		}
		diff(t, m, n, block, mask)
	})
}
