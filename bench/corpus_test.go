package bench

import (
	"bytes"
	"os"
	"testing"

	"github.com/tinywatcher/tinywatcher/match"
)

func defaultNaive(t *testing.T) (*match.Program, *match.Naive) {
	t.Helper()
	p, err := match.Compile(match.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.NewNaive()
	if err != nil {
		t.Fatal(err)
	}
	return p, n
}

func testPools(t *testing.T) *loghubPools {
	t.Helper()
	dir, err := FindLoghub("")
	if err != nil {
		t.Logf("synthetic lines only: %v", err)
		return nil
	}
	p, err := loadLoghub(dir, match.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBenignLinesMatchNoDefaultRule(t *testing.T) {
	p, naive := defaultNaive(t)
	g := newGen(7, testPools(t))
	for i := 0; i < 8000; i++ {
		line, kind := g.benign(nil)
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("%s: not one line: %q", kind, line)
		}
		if bytes.Contains(line, []byte("%!")) || bytes.Contains(line, []byte("{w}")) || bytes.Contains(line, []byte("{N}")) {
			t.Fatalf("%s: template not filled: %q", kind, line)
		}
		naive.Scan(line, nil, func(l []byte, rules match.Bits) {
			rules.Each(func(r int) {
				t.Errorf("benign %s line matches rule %q: %s", kind, p.Rule(r).Name, l)
			})
		})
		if t.Failed() {
			return
		}
	}
}

func TestIncidentsMatchDefaultRules(t *testing.T) {
	_, naive := defaultNaive(t)
	g := newGen(9, testPools(t))
	for _, k := range incidentKinds {
		if k.kind == "loghub" && g.pools == nil {
			continue
		}
		for i := 0; i < 200; i++ {
			ev, n := k.fn(g, nil)
			if got := bytes.Count(ev, []byte("\n")); got != n || ev[len(ev)-1] != '\n' {
				t.Fatalf("%s: says %d lines, wrote %d: %q", k.kind, n, got, ev)
			}
			hits := 0
			naive.Scan(ev, nil, func([]byte, match.Bits) { hits++ })
			if hits == 0 {
				t.Fatalf("%s: no default rule catches %q", k.kind, ev)
			}
		}
	}
}

func TestBuildCorpusDeterministic(t *testing.T) {
	dir, _ := FindLoghub("")
	build := func(seed uint64) ([]byte, CorpusStats) {
		var buf bytes.Buffer
		st, err := BuildCorpus(&buf, CorpusOptions{Size: 512 << 10, Seed: seed, LoghubDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), st
	}
	a, sa := build(1)
	b, _ := build(1)
	c, _ := build(2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different corpus")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same corpus")
	}
	if int64(len(a)) != sa.Bytes || sa.Bytes < 512<<10 || int64(bytes.Count(a, []byte("\n"))) != sa.Lines {
		t.Fatalf("stats %+v disagree with %d bytes, %d lines", sa, len(a), bytes.Count(a, []byte("\n")))
	}
	rate := float64(sa.IncidentLines) / float64(sa.Lines)
	if rate < 0.005 || rate > 0.02 {
		t.Fatalf("incident rate %.4f, want about 1%%", rate)
	}
}

func TestCachedCorpus(t *testing.T) {
	dir := t.TempDir()
	o := CorpusOptions{Size: 128 << 10, Seed: 3}
	p1, s1, err := CachedCorpus(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(p1)
	p2, s2, err := CachedCorpus(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(p2)
	if p1 != p2 || s1.Key != s2.Key || !fi1.ModTime().Equal(fi2.ModTime()) || fi1.Size() != s1.Bytes {
		t.Fatalf("cache not reused: %s %s", p1, p2)
	}
}

func TestParseSize(t *testing.T) {
	f := func(in string, want Size) {
		t.Helper()
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Fatalf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("256MiB", 256<<20)
	f("256mib", 256<<20)
	f("1GiB", 1<<30)
	f("64k", 64<<10)
	f("1.5M", 3<<19)
	f("10MB", 10e6)
	f("12345", 12345)
	f("7b", 7)
	for _, bad := range []string{"", "MiB", "-1", "12XB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Fatalf("ParseSize(%q) succeeded", bad)
		}
	}
	for in, want := range map[Size]string{256 << 20: "256MiB", 3 << 19: "1.5MiB", 1<<20 + 70: "1.0MiB", 1023: "1023B", 1 << 30: "1GiB"} {
		if s := in.String(); s != want {
			t.Fatalf("Size(%d).String() = %s, want %s", in, s, want)
		}
	}
}
