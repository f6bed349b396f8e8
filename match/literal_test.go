package match

import (
	"fmt"
	"regexp/syntax"
	"testing"
)

func TestRuleLiterals(t *testing.T) {
	f := func(pattern, want string, wantExact bool) {
		t.Helper()
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		lits, fold, exact, ok, _ := ruleLiterals(re)
		got := "residual"
		if ok {
			got = fmt.Sprintf("%q fold=%v", lits, fold)
		}
		if got != want || exact != wantExact {
			t.Fatalf("%s: got %s exact=%v, want %s exact=%v", pattern, got, exact, want, wantExact)
		}
	}
	f(`Out of memory`, `["Out of memory"] fold=false`, true)
	f(`(?i)parity error`, `["parity error"] fold=true`, true)
	f(`(?i)deadlock detected`, `[" detected"] fold=true`, false) // k folds to U+212A
	f(`(?i)syslog`, `["log"] fold=true`, false)                  // s folds to U+017F
	f(`foo|bar`, `["bar" "foo"] fold=false`, true)
	f(`\bfoo|bar`, `["bar" "foo"] fold=false`, false)
	f(`(?i)foo|bar`, `["bar" "foo"] fold=true`, true)
	f(`(?i:foo)|bar`, `["bar" "foo"] fold=true`, false)
	f(`[Ff]oo`, `["foo"] fold=true`, false) // mixed folding: not exact
	f(`[Ff]o[o0]`, `["fo0" "foo"] fold=true`, false)
	f(`time(?:d)? ?out`, `["time out" "timed out" "timedout" "timeout"] fold=false`, true)
	f(`time(?:d)? ?out$`, `["time out" "timed out" "timedout" "timeout"] fold=false`, false)
	f(`sshd\[\d+\]: Failed password`, `["]: Failed password"] fold=false`, false)
	f(`^\d+$`, `residual`, false)
	f(`^$`, `residual`, false)
	f(`.`, `residual`, false)
	f(`a.b`, `residual`, false) // 1-byte literals are not worth a probe
	f(`x+yz`, `["yz"] fold=false`, false)
	f(`\x{FFFD}abc`, `["abc"] fold=false`, false)
	f(`a\nbc`, `["bc"] fold=false`, false)
	f(`caf(?i:é)`, `["caf"] fold=false`, false)
	f(`[Ee]rror`, `["error"] fold=true`, false)
}

func TestIndexFold(t *testing.T) {
	f := func(s, lower string, want int) {
		t.Helper()
		if got := indexFold([]byte(s), []byte(lower)); got != want {
			t.Fatalf("indexFold(%q, %q) = %d, want %d", s, lower, got, want)
		}
	}
	f("", "a", -1)
	f("abc", "", 0)
	f("xxERROR", "error", 2)
	f("xxErRoR", "error", 2)
	f("eeeerror", "error", 3)
	f("errox", "error", -1)
	f("a (ROOT) b", "(root)", 2)
	f("12:34", ":3", 2)
}

func TestAnchoredStart(t *testing.T) {
	f := func(pattern string, want bool) {
		t.Helper()
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := anchoredStart(re); got != want {
			t.Fatalf("anchoredStart(%s) = %v, want %v", pattern, got, want)
		}
	}
	f(`^\d+$`, true)
	f(`\d+$`, false)
	f(`^a|^b`, true)
	f(`^a|b`, false)
	f(`(?m)^x`, true)
	f(`(^a)`, true)
	f(`\Aabc`, true)
	f(`x*^`, false)
	f(`.`, false)
}
