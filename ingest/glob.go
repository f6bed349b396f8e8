package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// globHasMeta reports whether p is a glob rather than a plain path.
func globHasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// ExpandGlobs turns the configured inputs.files entries into the paths to
// follow, in order and without duplicates. A plain path is kept whether or
// not it exists yet (its File waits for it) unless it names a directory,
// which is an error. A glob (* ? [...], as filepath.Match) contributes the
// regular files it matches now, sorted, never directories; a glob matching
// none is returned in unmatched, for a warning: GlobWatcher picks up the
// files created later. err reports a malformed glob or a directory.
func ExpandGlobs(patterns []string) (paths []string, unmatched []string, err error) {
	seen := make(map[string]bool)
	add := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			paths = append(paths, p)
		}
	}
	for _, pat := range patterns {
		if !globHasMeta(pat) {
			if st, err := os.Stat(pat); err == nil && st.IsDir() {
				return nil, nil, fmt.Errorf("inputs.files: %q is a directory; name the files in it, e.g. %q", pat, filepath.Join(pat, "*.log"))
			}
			add(pat)
			continue
		}
		matches, err := globFiles(pat)
		if err != nil {
			return nil, nil, err
		}
		if len(matches) == 0 {
			unmatched = append(unmatched, pat)
		}
		for _, m := range matches {
			add(m)
		}
	}
	return paths, unmatched, nil
}

// globFiles returns the regular files (symbolic links to them included)
// that pattern matches.
func globFiles(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("inputs.files: bad glob %q: %w", pattern, err)
	}
	files := matches[:0]
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	return files, nil
}

// GlobWatcher finds the files that start matching inputs.files globs while
// TinyWatcher runs, so a new /var/log/app/*.log file is followed without a
// restart. It reports each path once, the first time it matches; a path
// that disappears and comes back is not reported again (the File following
// it handles that). Plain paths are not its business. Not safe for
// concurrent use, except that Run may run while nothing else is called.
type GlobWatcher struct {
	patterns []string
	seen     map[string]bool
}

// NewGlobWatcher watches the globs among patterns; known are the paths
// followed already (from ExpandGlobs), which are never reported.
func NewGlobWatcher(patterns, known []string) *GlobWatcher {
	g := &GlobWatcher{seen: make(map[string]bool)}
	for _, p := range patterns {
		if globHasMeta(p) {
			g.patterns = append(g.patterns, p)
		}
	}
	for _, p := range known {
		g.seen[filepath.Clean(p)] = true
	}
	return g
}

// Check expands the globs once and returns the files not seen before, in
// pattern order.
func (g *GlobWatcher) Check() []string {
	var fresh []string
	for _, pat := range g.patterns {
		matches, _ := globFiles(pat) // patterns were checked by ExpandGlobs
		for _, m := range matches {
			if c := filepath.Clean(m); !g.seen[c] {
				g.seen[c] = true
				fresh = append(fresh, m)
			}
		}
	}
	return fresh
}

// Run calls Check when an entry is created in a glob's directory (when the
// directory part is plain) and every interval (default 10 s) regardless,
// calling onNew for every new file, until ctx is cancelled; it returns nil
// then. Without globs it returns at once.
func (g *GlobWatcher) Run(ctx context.Context, interval time.Duration, onNew func(path string)) error {
	if len(g.patterns) == 0 {
		return nil
	}
	if interval <= 0 {
		interval = 10 * time.Second
	}
	wake := make(chan struct{}, 1)
	var watches []*fileWatch
	defer func() {
		for _, w := range watches {
			w.stop()
		}
	}()
	dirs := make(map[string]bool)
	for _, pat := range g.patterns {
		abs, err := filepath.Abs(pat)
		if err != nil {
			continue
		}
		dir := filepath.Dir(abs)
		if globHasMeta(dir) || dirs[dir] {
			continue
		}
		dirs[dir] = true
		w, _ := fileWatchStart(filepath.Join(dir, "x"), true, wake) // polled when unavailable
		watches = append(watches, w)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, p := range g.Check() {
			onNew(p)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
			for _, w := range watches {
				w.retry()
			}
		}
	}
}
