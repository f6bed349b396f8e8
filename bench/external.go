package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tinywatcher/tinywatcher/match"
)

// External is a command-line searcher run over the same corpus with the same
// rules, one expression per line of a patterns file.
type External struct {
	Name string // as shown in the table
	Tool string // executable looked up on PATH
	// Args builds the argument list from the patterns file and the corpus.
	Args func(patterns, corpus string) []string
	// Expr turns one rule's RE2 expression into the tool's syntax.
	Expr func(re2 string) (string, error)
	Env  []string
}

// Externals are the tools the matcher mode compares with. grep runs in the
// C locale (byte matching, its fastest mode; the corpus is ASCII) with the
// rules translated to ERE (ToERE); ripgrep gets them translated to Rust
// regex with RE2's ASCII classes and word boundaries (ToRustRegex), and
// large regex and DFA limits so 1,000 rules compile. Both print the
// matching lines, which we count: grep stops at the first match when its
// output is /dev/null.
var Externals = []External{
	{
		Name: "rg -f",
		Tool: "rg",
		Args: func(p, c string) []string {
			return []string{"--no-config", "-a", "-N", "--no-filename", "--color", "never",
				"--regex-size-limit", "1G", "--dfa-size-limit", "1G", "-f", p, c}
		},
		Expr: ToRustRegex,
	},
	{
		Name: "grep -E -f",
		Tool: "grep",
		Args: func(p, c string) []string { return []string{"-a", "-E", "-f", p, c} },
		Expr: ToERE,
		Env:  []string{"LC_ALL=C"},
	},
}

// externalRun is a prepared tool: resolved path and patterns file.
type externalRun struct {
	ext      External
	path     string
	patterns string
}

// prepareExternal finds the tool and writes its patterns file into dir.
// It returns a reason instead of an error when the tool cannot take part
// (not installed, a rule not expressible in its syntax).
func prepareExternal(ext External, rules []match.Rule, dir string) (*externalRun, string, error) {
	path, err := exec.LookPath(ext.Tool)
	if err != nil {
		return nil, ext.Tool + " not on PATH", nil
	}
	var lines []string
	var bad []string
	for _, r := range rules {
		e, err := match.RuleExpr(r)
		if err != nil {
			return nil, "", fmt.Errorf("rule %q: %w", r.Name, err)
		}
		x, err := ext.Expr(e)
		if err != nil {
			bad = append(bad, r.Name)
			continue
		}
		if x == "" || strings.ContainsAny(x, "\n") {
			bad = append(bad, r.Name)
			continue
		}
		lines = append(lines, x)
	}
	if len(bad) > 0 {
		return nil, fmt.Sprintf("n/a (%d rules not expressible, e.g. %s)", len(bad), bad[0]), nil
	}
	p := filepath.Join(dir, ext.Tool+".patterns")
	if err := writeLines(p, lines); err != nil {
		return nil, "", err
	}
	return &externalRun{ext: ext, path: path, patterns: p}, "", nil
}

func writeLines(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// run searches corpus once and returns the number of matching lines, the
// wall time (including process start and pattern compilation) and the
// child's CPU time.
func (x *externalRun) run(ctx context.Context, corpus string) (int64, time.Duration, time.Duration, error) {
	var out lineCounter
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, x.path, x.ext.Args(x.patterns, corpus)...)
	cmd.Env = append(os.Environ(), x.ext.Env...)
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
		err = nil // no line matched
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return 0, wall, cpu, fmt.Errorf("%s: %w: %s", x.ext.Name, err, msg)
	}
	return out.n, wall, cpu, nil
}
