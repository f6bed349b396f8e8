package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestCommandSmoke(t *testing.T) {
	cache := t.TempDir()
	base := []string{"--size", "1MiB", "--runs", "1", "--many-rules", "200", "--naive-prefix", "256KiB", "--cache-dir", cache}
	if _, err := FindLoghub(""); err != nil {
		t.Logf("synthetic-only corpus: %v", err)
		base = append(base, "--loghub", "none")
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := NewCommand()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(append([]string(nil), base...), args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	out, _ := run()
	t.Log("\n" + out)
	for _, want := range []string{"rules=default (", "rules=many (200)", "tinywatcher x1", "naive (regexp)", "check "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "MISMATCH") {
		t.Errorf("a cross-check failed:\n%s", out)
	}

	js, _ := run("--json", "--rules", "default", "--workers", "2")
	var rep MatcherReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, js)
	}
	if len(rep.RuleSets) != 1 || rep.Corpus.Lines == 0 || rep.RuleSets[0].MatchLines == 0 {
		t.Fatalf("unexpected report: %+v", rep)
	}
	rs := rep.RuleSets[0]
	if rs.Runners[0].Name != "tinywatcher x1" || rs.Runners[1].Name != "tinywatcher x2" || len(rs.Runners[0].PerRule) != rs.NumRules {
		t.Fatalf("unexpected runners: %+v", rs.Runners)
	}
	for _, c := range rs.Checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}

	// --corpus uses the given file as is.
	f := filepath.Join(t.TempDir(), "x.log")
	os.WriteFile(f, []byte("GET / 200\npanic: boom\nall good\nno trailing newline Kernel panic - not syncing"), 0o644)
	js, _ = run("--json", "--rules", "default", "--corpus", f, "--no-external")
	rep = MatcherReport{}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Corpus.Lines != 4 || rep.RuleSets[0].MatchLines != 2 {
		t.Fatalf("--corpus: %d lines, %d matching; want 4, 2", rep.Corpus.Lines, rep.RuleSets[0].MatchLines)
	}

	// An empty file is measured without dividing by zero.
	empty := filepath.Join(t.TempDir(), "empty.log")
	os.WriteFile(empty, nil, 0o644)
	js, _ = run("--json", "--rules", "default", "--corpus", empty)
	if err := json.Unmarshal([]byte(js), &MatcherReport{}); err != nil {
		t.Fatalf("empty corpus: %v\n%s", err, js)
	}

	cmd := NewCommand()
	cmd.SetArgs([]string{"--mode", "nope"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "matcher") {
		t.Fatalf("unknown mode: %v", err)
	}
}

func TestSplitBlocks(t *testing.T) {
	f := func(in string, size int, want ...string) {
		t.Helper()
		var got []string
		for _, b := range SplitBlocks([]byte(in), size) {
			got = append(got, string(b))
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Fatalf("SplitBlocks(%q, %d) = %q, want %q", in, size, got, want)
		}
	}
	f("", 4)
	f("a\n", 4, "a\n")
	f("a\nb\nc\n", 4, "a\nb\n", "c\n")
	f("abcdef\ng\n", 4, "abcdef\n", "g\n")
	f("a\nbcdefgh", 4, "a\n", "bcdefgh")
	f("ab\ncd\n", 3, "ab\n", "cd\n")
}

func TestRegisterMode(t *testing.T) {
	var word string
	RegisterMode(Mode{
		Name:  "zz-test",
		Help:  "test mode",
		Flags: func(fs *pflag.FlagSet) { fs.StringVar(&word, "zz-test-word", "", "a word") },
		Run: func(_ context.Context, env *Env) error {
			fmt.Fprintf(env.Stdout, "word=%s workers=%d", word, env.Opt.Workers)
			return nil
		},
	})
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--mode", "zz-test", "--zz-test-word", "hi", "--workers", "3"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "word=hi workers=3" {
		t.Fatalf("got %q", out.String())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a mode twice did not panic")
		}
	}()
	RegisterMode(Mode{Name: "zz-test"})
}
