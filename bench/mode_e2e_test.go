package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// runBench runs `bench args…` through NewCommand and returns its stdout.
func runBench(t *testing.T, args ...string) string {
	t.Helper()
	base := []string{"--cache-dir", t.TempDir()}
	if _, err := FindLoghub(""); err != nil {
		t.Logf("synthetic-only corpus: %v", err)
		base = append(base, "--loghub", "none")
	}
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append(base, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

func TestE2EModeSmoke(t *testing.T) {
	args := []string{"--mode", "e2e", "--size", "2MiB", "--runs", "1", "--rules", "default", "--e2e-sources", "1,3"}
	out := runBench(t, args...)
	t.Log("\n" + out)
	for _, want := range []string{"rules=default (", "matcher x1", "e2e 1 source", "e2e 3 sources", "allocs/line", "peak RSS", "check "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "MISMATCH") {
		t.Errorf("a cross-check failed:\n%s", out)
	}

	js := runBench(t, append(args, "--json", "--workers", "2", "--e2e-cooldown", "0")...)
	var rep E2EReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, js)
	}
	if len(rep.RuleSets) != 1 || rep.Corpus.Lines == 0 {
		t.Fatalf("unexpected report: %+v", rep)
	}
	rs := rep.RuleSets[0]
	if rs.MatchLines == 0 || len(rs.Matcher) != 2 || len(rs.E2E) != 2 {
		t.Fatalf("unexpected rule set report: %+v", rs)
	}
	want := map[string]int64{}
	for _, rc := range rs.Matcher[0].PerRule {
		want[rc.Rule] = rc.Matches
	}
	for _, e := range rs.E2E {
		if e.Lines != rep.Corpus.Lines || e.Bytes != rep.Corpus.Bytes || e.MBPerSec <= 0 {
			t.Errorf("%s: %d lines, %d bytes, %.1f MB/s; corpus %d lines, %d bytes", e.Name, e.Lines, e.Bytes, e.MBPerSec, rep.Corpus.Lines, rep.Corpus.Bytes)
		}
		if len(e.PerRule) != rs.NumRules {
			t.Errorf("%s: %d per-rule counts, want %d", e.Name, len(e.PerRule), rs.NumRules)
		}
		var sum int64
		for _, rc := range e.PerRule {
			sum += rc.Matches
		}
		// No cooldown: every match is an alert, and every alert arrives.
		if int64(e.Fired) != sum || e.Delivered != sum || e.Dropped != 0 {
			t.Errorf("%s: %d fired, %d delivered, %d dropped; want %d, %d, 0", e.Name, e.Fired, e.Delivered, e.Dropped, sum, sum)
		}
		if e.RSS == nil || e.RSS.Error != "" || e.RSS.PeakKiB <= 0 || e.RSS.Lines != rep.Corpus.Lines {
			t.Errorf("%s: bad RSS report %+v", e.Name, e.RSS)
		}
	}
	for _, c := range rs.Checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	if rs.Matches == 0 {
		t.Fatal("no matches: the smoke corpus should hold some incidents")
	}
	// The matcher's per-rule counts are in the report too: compare them
	// to the pipeline's here as well, independently of the checks.
	for _, e := range rs.E2E {
		for _, rc := range e.PerRule {
			if want[rc.Rule] != rc.Matches {
				t.Errorf("%s: rule %s matched %d times, the matcher alone %d", e.Name, rc.Rule, rc.Matches, want[rc.Rule])
			}
		}
	}
}

func TestSplitFiles(t *testing.T) {
	dir := t.TempDir()
	f := func(data string, k int) {
		t.Helper()
		paths, err := splitFiles(dir, "t", []byte(data), k)
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != k {
			t.Fatalf("%d files, want %d", len(paths), k)
		}
		var all []byte
		for _, p := range paths {
			b := mustRead(t, p)
			if len(b) > 0 && b[len(b)-1] != '\n' && p != paths[len(paths)-1] {
				t.Errorf("split %q in %d: part %q does not end a line", data, k, b)
			}
			all = append(all, b...)
		}
		if string(all) != data {
			t.Errorf("split %q in %d: parts join to %q", data, k, all)
		}
	}
	f("", 3)
	f("a\n", 1)
	f("a\n", 3)
	f("a\nb\nc\n", 3)
	f("aaaa\nb\nc\ndddddddd\ne", 2)
	f("aaaa\nb\nc\ndddddddd\ne\n", 4)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLatencyModeSmoke(t *testing.T) {
	args := []string{"--mode", "latency", "--size", "2MiB", "--rules", "default", "--latency-duration", "1s", "--latency-rate", "5000"}
	out := runBench(t, args...)
	t.Log("\n" + out)
	for _, want := range []string{"rules=default (47 with the probe rule)", "probes sent", "p99 ms", "check probes received = sent", "fsnotify"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "MISMATCH") {
		t.Errorf("a cross-check failed:\n%s", out)
	}

	js := runBench(t, append(args, "--json", "--latency-probe-every", "10")...)
	var rep LatencyReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, js)
	}
	if len(rep.RuleSets) != 1 || rep.Rate != 5000 || rep.ProbeEvery != 10 {
		t.Fatalf("unexpected report: %+v", rep)
	}
	rs := rep.RuleSets[0]
	// About 5000 lines in 1 s, one in 10 a probe; a loaded machine may
	// write fewer batches, but the rate catches up in the next one.
	if rs.ProbesSent < 100 || rs.ProbesRecv != rs.ProbesSent || rs.Duplicates != 0 {
		t.Errorf("probes: %d sent, %d received, %d duplicates", rs.ProbesSent, rs.ProbesRecv, rs.Duplicates)
	}
	if rs.P50Millis <= 0 || rs.P50Millis > rs.P99Millis || rs.P99Millis > rs.MaxMillis {
		t.Errorf("percentiles out of order: p50 %v p99 %v max %v", rs.P50Millis, rs.P99Millis, rs.MaxMillis)
	}
	for _, c := range rs.Checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
}

func TestProbeField(t *testing.T) {
	f := func(line, key string, want int64, wantOK bool) {
		t.Helper()
		got, ok := probeField(line, key)
		if got != want || ok != wantOK {
			t.Errorf("probeField(%q, %q) = %d, %v; want %d, %v", line, key, got, ok, want, wantOK)
		}
	}
	line := string(appendProbe(nil, 42, 1700000000000000000))
	f(line, "seq=", 42, true)
	f(line, "t=", 1700000000000000000, true)
	f(string(appendProbe(nil, -1, 5)), "seq=", -1, true)
	f("x seq=1 at=3", "t=", 0, false)
	f("x seq=1 at=3 t=4", "t=", 4, true)
	f("no fields", "seq=", 0, false)
}
