package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the tinywatcher binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tinywatcher-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tinywatcher")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot build tinywatcher: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lineCollector gathers a process's stdout lines as they arrive.
type lineCollector struct {
	mu    sync.Mutex
	lines []string
	cond  chan struct{}
}

func collect(r io.Reader) *lineCollector {
	c := &lineCollector{cond: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case c.cond <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

func (c *lineCollector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// waitFor waits until pred holds on the lines so far, or fails the test.
func (c *lineCollector) waitFor(t *testing.T, what string, pred func([]string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !pred(c.snapshot()) {
		select {
		case <-c.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; output so far:\n%s", what, strings.Join(c.snapshot(), "\n"))
		}
	}
}

func countRule(lines []string, rule string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "] ["+rule+"] ") {
			n++
		}
	}
	return n
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

const e2eConfig = `identity:
  name: e2e-host
inputs:
  files:
    - %[1]s/app.log
    - %[1]s/other.log
rules:
  - name: probe
    text: "PROBE"
    cooldown: 0
    alert: out
  - name: db_down
    pattern: 'OperationalError: (could not connect|timeout)'
    cooldown: 60
    alert: out
  - name: burst
    text: "login failed"
    threshold: "3 in 1m"
    cooldown: 0
    alert: out
  - name: app_only
    pattern: '(?i)panic'
    sources:
      files: ["%[1]s/app.log"]
    cooldown: 0
    alert: out
alerts:
  out:
    type: stdout
`

// TestWatchEndToEnd runs the built binary as a user would: it appends to
// files while `watch` runs and checks the alerts printed.
func TestWatchEndToEnd(t *testing.T) {
	dir := t.TempDir()
	app, other := filepath.Join(dir, "app.log"), filepath.Join(dir, "other.log")
	appendLines(t, app, "an old line with OperationalError: timeout that predates watch")
	appendLines(t, other, "boot")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, e2eConfig, dir), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "watch", "--config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := collect(stdout)
	defer func() {
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()

	// Files are followed from their end: wait until both sources are
	// live by writing probes until each one alerts.
	for _, f := range []string{app, other} {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(strings.Join(out.snapshot(), "\n"), "PROBE "+f) {
			if time.Now().After(deadline) {
				t.Fatalf("source %s never came up; stderr:\n%s", f, stderr.String())
			}
			appendLines(t, f, "PROBE "+f)
			time.Sleep(100 * time.Millisecond)
		}
	}

	appendLines(t, app,
		"2026-11-23 10:00:00 ERROR psycopg2.OperationalError: could not connect to server",
		"2026-11-23 10:00:01 ERROR psycopg2.OperationalError: timeout expired",
		"2026-11-23 10:00:02 ERROR psycopg2.OperationalError: could not connect to server",
	)
	appendLines(t, other, "login failed for bob", "login failed for bob")
	appendLines(t, other, "goroutine panic: runtime error in other.log")
	appendLines(t, app, "PANIC in app.log handler")
	appendLines(t, other, "login failed for bob")
	appendLines(t, app, "PROBE done")
	out.waitFor(t, "the final probe", func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "PROBE done") && countRule(l, "burst") >= 1
	})
	// Give stragglers from other.log a moment: sources are independent.
	time.Sleep(300 * time.Millisecond)
	lines := out.snapshot()

	if n := countRule(lines, "db_down"); n != 1 {
		t.Errorf("db_down alerted %d times, want 1 (cooldown 60s suppresses repeats)", n)
	}
	for _, l := range lines {
		if strings.Contains(l, "predates watch") {
			t.Errorf("a line written before watch started alerted: %q", l)
		}
	}
	if n := countRule(lines, "burst"); n != 1 {
		t.Errorf("burst alerted %d times, want 1 (threshold 3 in 1m, 3 matches)", n)
	}
	if n := countRule(lines, "app_only"); n != 1 {
		t.Errorf("app_only alerted %d times, want 1 (restricted to app.log)", n)
	}
	for _, l := range lines {
		if strings.Contains(l, "[app_only]") && !strings.Contains(l, "PANIC in app.log") {
			t.Errorf("source-restricted rule alerted on another file: %q", l)
		}
		if strings.HasPrefix(l, "[") && !strings.Contains(l, "] [e2e-host] [") {
			t.Errorf("alert without the identity: %q", l)
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch exited with %v after SIGINT, want 0", err)
	}
}

// TestReplayIsDeterministic: --replay reads the files from the beginning,
// prints the alerts and exits 0, with the same output every time.
func TestReplayIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	logins := 0
	for i := range 500 {
		switch {
		case i%97 == 0:
			lines = append(lines, fmt.Sprintf("%d ERROR OperationalError: could not connect", i))
		case i%13 == 0:
			logins++
			lines = append(lines, fmt.Sprintf("%d login failed for user%d", i, i))
		case i%50 == 0:
			lines = append(lines, fmt.Sprintf("%d Panic: nil map", i))
		default:
			lines = append(lines, fmt.Sprintf("%d INFO GET /health 200", i))
		}
	}
	appendLines(t, filepath.Join(dir, "app.log"), lines...)
	appendLines(t, filepath.Join(dir, "other.log"), "nothing here")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, e2eConfig, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(binary, "watch", "--replay", "--config", cfg)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("watch --replay: %v\n%s", err, stderr.String())
		}
		// Alert times are wall-clock; compare everything after them.
		var rest []string
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if i := strings.Index(l, "] "); i >= 0 {
				l = l[i+2:]
			}
			rest = append(rest, l)
		}
		return strings.Join(rest, "\n")
	}
	first := run()
	got := strings.Split(first, "\n")
	if n := countRule(got, "db_down"); n != 1 {
		t.Fatalf("replay gave %d db_down alerts, want 1 (cooldown):\n%s", n, first)
	}
	// The threshold window restarts after each alert: every third fires.
	if n := countRule(got, "burst"); n != logins/3 {
		t.Fatalf("replay gave %d burst alerts for %d matches, want %d:\n%s", n, logins, logins/3, first)
	}
	for range 2 {
		if again := run(); again != first {
			t.Fatalf("replay differs between runs:\n--- first\n%s\n--- again\n%s", first, again)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: x\n    patern: y\n"), 0o644)
	f := func(want int, args ...string) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != want {
			t.Errorf("tinywatcher %s: exit %d, want %d\n%s", strings.Join(args, " "), got, want, out)
		}
	}
	f(0, "version")
	f(2, "test", "--config", bad)
	f(2, "watch", "--config", bad)
	f(2, "test", "--config", filepath.Join(dir, "missing.yaml"))
	f(2, "watch") // --config is required
}

// TestGlobPicksUpNewFiles: a file created while watch runs that matches an
// inputs.files glob is followed from its first line.
func TestGlobPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `inputs:
  files: ["%s/*.log"]
rules:
  - name: boom
    text: BOOM
    cooldown: 0
    alert: out
alerts:
  out: {type: stdout}
`, dir), 0o644)
	cmd := exec.Command(binary, "watch", "--config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := collect(stdout)
	time.Sleep(200 * time.Millisecond)
	// Written in one go right at creation: the first line must not be
	// skipped as if the file had existed before.
	appendLines(t, filepath.Join(dir, "late.log"), "first BOOM line", "second BOOM line")
	out.waitFor(t, "both lines of the new file", func(l []string) bool { return countRule(l, "boom") == 2 })
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch: %v\n%s", err, stderr.String())
	}
}

// TestExamplesPassTest: `tinywatcher test` accepts every bundled example.
func TestExamplesPassTest(t *testing.T) {
	examples, _ := filepath.Glob("../../examples/*.yaml")
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, ex := range examples {
		// Run from the repo root, as the examples' relative paths expect.
		cmd := exec.Command(binary, "test", "--config", strings.TrimPrefix(ex, "../../"))
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("tinywatcher test --config %s: %v\n%s", ex, err, out)
			continue
		}
		if !bytes.Contains(out, []byte("configuration OK")) {
			t.Errorf("tinywatcher test --config %s printed no verdict:\n%s", ex, out)
		}
	}
}
