package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/tinywatcher/tinywatcher/match"
)

func TestToERE(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := ToERE(in)
		if err != nil || got != want {
			t.Fatalf("ToERE(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f(`abc`, `abc`)
	f(`a.b`, `a.b`)
	f(`a\.b`, `a\.b`)
	f(`\d+`, `[0-9]+`)
	f(`\d{1,3}(?:\.\d{1,3}){3}`, `[0-9]{1,3}(\.[0-9]{1,3}){3}`)
	f(`(?i)ab`, `[Aa][Bb]`)
	f(`(?i)\bfatal\b`, `\b[Ff][Aa][Tt][Aa][Ll]\b`)
	f(`x(?:a|b)y`, `x[ab]y`)
	f(`x(?:ab|cd)y`, `x(ab|cd)y`)
	f(`^$`, `^$`)
	f(`[^\]]+`, `[^]]+`)
	f(`a.*?b`, `a.*b`)
	f(`\s+at`, "[\t\f\r ]+at")
	f(`\S+`, "[^\t\f\r ]+")
	f(`[\w$.<>]+`, `[$.0-9<>A-Z_a-z]+`)
	f(`[a\-^]`, `[a^-]`)
	f(`[\^\-]`, `[-^]`)
	f(`\(\)\[\{\|`, `\(\)\[\{\|`)
	for _, bad := range []string{`\p{Greek}`, `[α-ω]`} {
		if e, err := ToERE(bad); err == nil {
			t.Fatalf("ToERE(%q) = %q, want an error", bad, e)
		}
	}
}

func TestToRustRegex(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := ToRustRegex(in)
		if err != nil || got != want {
			t.Fatalf("ToRustRegex(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f(`abc`, `(?:abc)`)
	f(`(?i)\bab\b`, `(?:(?-u:\b)[Aa][Bb](?-u:\b))`)
	f(`\d+x(?:ab|cd)`, `(?:[0-9]+x(?:ab|cd))`)
	f(`[^\]]`, `(?:[\x{0}-\x{9}\x{b}-\x{5c}\x{5e}-\x{10ffff}])`)
	f(`[\w$.<>-]`, `(?:[\x{24}\x{2d}-\x{2e}0-9\x{3c}\x{3e}A-Z\x{5f}a-z])`)
}

// TestExternalsAgree runs grep and rg with the translated rule sets over
// generated lines and requires exactly the lines Go's regexp finds.
func TestExternalsAgree(t *testing.T) {
	dir0, _ := FindLoghub("")
	var corpus bytes.Buffer
	if _, err := BuildCorpus(&corpus, CorpusOptions{Size: 160 << 10, Seed: 5, IncidentRate: 0.05, LoghubDir: dir0}); err != nil {
		t.Fatal(err)
	}
	corpus.WriteString("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6\nFATAL: x\n12345\n\n   at a.B(C.java:1)\nsshd[1]: Failed password for root from 1.2.3.4 port 1\n")
	dir := t.TempDir()
	data := filepath.Join(dir, "corpus.log")
	if err := os.WriteFile(data, corpus.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	type ruleSet struct {
		name  string
		rules []match.Rule
		exprs []string
		want  map[int]bool // 1-based numbers of the lines some rule matches
	}
	sets := []*ruleSet{{name: "default", rules: match.DefaultRules()}, {name: "many", rules: match.ManyRules(1000)}}
	for _, set := range sets {
		var res []*regexp.Regexp
		for _, r := range set.rules {
			e, err := match.RuleExpr(r)
			if err != nil {
				t.Fatal(err)
			}
			set.exprs = append(set.exprs, e)
			res = append(res, regexp.MustCompile(e))
		}
		set.want = map[int]bool{}
		n := 0
		for l := range bytes.Lines(corpus.Bytes()) {
			n++
			l = bytes.TrimSuffix(l, []byte("\n"))
			for _, re := range res {
				if re.Match(l) {
					set.want[n] = true
					break
				}
			}
		}
	}
	for _, ext := range Externals {
		t.Run(ext.Tool, func(t *testing.T) {
			tool, err := exec.LookPath(ext.Tool)
			if err != nil {
				t.Skip(ext.Tool + " not on PATH")
			}
			for _, set := range sets {
				var exprs []string
				for _, e := range set.exprs {
					x, err := ext.Expr(e)
					if err != nil {
						t.Fatalf("%s: %v", set.name, err)
					}
					exprs = append(exprs, x)
				}
				rules := filepath.Join(dir, ext.Tool+"-"+set.name+".patterns")
				if err := writeLines(rules, exprs); err != nil {
					t.Fatal(err)
				}
				args := []string{"-n"}
				for _, a := range ext.Args(rules, data) {
					if a != "-N" {
						args = append(args, a)
					}
				}
				cmd := exec.Command(tool, args...)
				cmd.Env = append(os.Environ(), ext.Env...)
				out, err := cmd.Output()
				if err != nil && len(out) != 0 {
					t.Fatalf("%s: %s: %v", set.name, ext.Tool, err)
				}
				got := map[int]bool{}
				for l := range bytes.Lines(out) {
					n, _ := strconv.Atoi(string(l[:bytes.IndexByte(l, ':')]))
					got[n] = true
				}
				for k := range set.want {
					if !got[k] {
						t.Errorf("%s: %s misses line %d: %s", set.name, ext.Tool, k, lineAt(corpus.Bytes(), k))
					}
				}
				for k := range got {
					if !set.want[k] {
						t.Errorf("%s: %s finds extra line %d: %s", set.name, ext.Tool, k, lineAt(corpus.Bytes(), k))
					}
				}
				t.Logf("%s: %d lines match, %s agrees: %v", set.name, len(set.want), ext.Tool, !t.Failed())
			}
		})
	}
}

func lineAt(b []byte, n int) string {
	i := 0
	for l := range bytes.Lines(b) {
		if i++; i == n {
			return fmt.Sprintf("%q", l)
		}
	}
	return ""
}
