package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExpandGlobs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.log", "b.log", "c.txt", "sub/d.log"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "dir.log"), 0o755)
	j := func(n string) string { return filepath.Join(dir, n) }
	// f expands patterns and checks the paths and the unmatched globs.
	f := func(patterns, wantPaths, wantUnmatched []string) {
		t.Helper()
		paths, unmatched, err := ExpandGlobs(patterns)
		if err != nil {
			t.Fatalf("ExpandGlobs(%q): %v", patterns, err)
		}
		if !slices.Equal(paths, wantPaths) || !slices.Equal(unmatched, wantUnmatched) {
			t.Fatalf("ExpandGlobs(%q) = %q, %q; want %q, %q", patterns, paths, unmatched, wantPaths, wantUnmatched)
		}
	}
	f(nil, nil, nil)
	f([]string{j("*.log")}, []string{j("a.log"), j("b.log")}, nil)
	f([]string{j("?.*")}, []string{j("a.log"), j("b.log"), j("c.txt")}, nil)
	f([]string{j("[ab].log"), j("a.log"), j("*/*.log")}, []string{j("a.log"), j("b.log"), j("sub/d.log")}, nil)
	f([]string{j("*.nope"), j("missing.log")}, []string{j("missing.log")}, []string{j("*.nope")})

	bad := func(patterns []string, wantErr string) {
		t.Helper()
		if _, _, err := ExpandGlobs(patterns); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("ExpandGlobs(%q) error %v, want %q", patterns, err, wantErr)
		}
	}
	bad([]string{j("[a.log")}, "bad glob")
	bad([]string{j("dir.log")}, "is a directory")
}

func TestGlobWatcher(t *testing.T) {
	fileNoLeaks(t)
	dir := t.TempDir()
	j := func(n string) string { return filepath.Join(dir, n) }
	os.WriteFile(j("a.log"), nil, 0o644)
	patterns := []string{j("*.log"), j("plain.log")}
	paths, _, _ := ExpandGlobs(patterns)
	g := NewGlobWatcher(patterns, paths)
	if fresh := g.Check(); len(fresh) != 0 {
		t.Fatalf("known files reported: %q", fresh)
	}
	os.WriteFile(j("b.log"), nil, 0o644)
	os.Mkdir(j("d.log"), 0o755)
	if fresh := g.Check(); !slices.Equal(fresh, []string{j("b.log")}) {
		t.Fatalf("Check = %q", fresh)
	}

	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// A long interval: the new file must be found through the event.
		done <- g.Run(ctx, time.Hour, func(p string) { mu.Lock(); got = append(got, p); mu.Unlock() })
	}()
	time.Sleep(50 * time.Millisecond) // not an assertion: lets Run subscribe
	os.WriteFile(j("c.log"), nil, 0o644)
	os.WriteFile(j("c.txt"), nil, 0o644)
	fileWaitFor(t, "c.log to be reported", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{j("c.log")}) {
		t.Fatalf("reported %q", got)
	}
}
