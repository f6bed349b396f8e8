package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFileResume(t *testing.T) {
	fileNoLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	fileAppend(t, path, "before\n")

	// A first run from the end; a checkpoint of where it got.
	r := fileStart(t, path, Options{})
	r.waitOpen(t)
	text, want := fileLines("first run", 10)
	fileAppend(t, path, text)
	fileWaitLines(t, r.c, want)
	r.stop(t)
	st, _ := os.Stat(path)
	pos := r.src.Position(r.c.lastOffset())
	if pos.Offset != st.Size() {
		t.Fatalf("position %+v, file size %d", pos, st.Size())
	}
	if dev, ino, ok := fileID(st); ok && (pos.Dev != dev || pos.Ino != ino) {
		t.Fatalf("position %+v, file %d/%d", pos, dev, ino)
	}

	// Lines written while stopped are read on resume, once.
	text, want = fileLines("while stopped", 5)
	fileAppend(t, path, text)
	r = fileStartWith(t, path, Options{}, func(f *File) { f.Resume(pos) })
	if off := r.waitOpen(t); off != pos.Offset {
		t.Fatalf("resumed at %d, want %d", off, pos.Offset)
	}
	fileWaitLines(t, r.c, want)
	r.stop(t)
	pos = r.src.Position(r.c.lastOffset())

	// Rotated while stopped: the rest of the rotated file, then the new one.
	text, want = fileLines("before rotation", 5)
	fileAppend(t, path, text)
	os.Rename(path, path+".1")
	text2, want2 := fileLines("new file", 5)
	fileAppend(t, path, text2)
	r = fileStartWith(t, path, Options{}, func(f *File) { f.Resume(pos) })
	fileWaitLines(t, r.c, append(want, want2...))
	r.stop(t)
	pos = r.src.Position(r.c.lastOffset())
	if st, _ := os.Stat(path); pos.Offset != st.Size() {
		t.Fatalf("position %+v after rotation, file size %d", pos, st.Size())
	}

	// Truncated while stopped: from the start.
	os.WriteFile(path, []byte("short\n"), 0o644)
	r = fileStartWith(t, path, Options{}, func(f *File) { f.Resume(pos) })
	fileWaitLines(t, r.c, []string{"short"})
	r.stop(t)

	// Replaced and the old file gone: the new file from its start.
	pos = r.src.Position(r.c.lastOffset())
	os.Remove(path)
	os.Remove(path + ".1")
	fileAppend(t, path, "replacement 1\nreplacement 2\n")
	r = fileStartWith(t, path, Options{}, func(f *File) { f.Resume(pos) })
	fileWaitLines(t, r.c, []string{"replacement 1", "replacement 2"})
}

func TestFileFromStart(t *testing.T) {
	fileNoLeaks(t)
	path := filepath.Join(t.TempDir(), "found.log")
	fileAppend(t, path, "already 1\nalready 2\n")
	r := fileStart(t, path, Options{FromStart: true})
	fileWaitLines(t, r.c, []string{"already 1", "already 2"})
}

func TestCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "positions.json")
	c, err := LoadCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("/var/log/a.log"); ok {
		t.Fatal("empty checkpoints hold a position")
	}
	c.Set("/var/log/a.log", FilePosition{Dev: 1, Ino: 2, Offset: 3})
	c.Set("/var/log/b.log", FilePosition{Offset: 40})
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil { // unchanged: nothing written
		t.Fatal(err)
	}
	c2, err := LoadCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c2.Get("/var/log/a.log"); p != (FilePosition{1, 2, 3}) {
		t.Fatalf("loaded %+v", p)
	}
	if p, _ := c2.Get("/var/log/b.log"); p.Offset != 40 {
		t.Fatalf("loaded %+v", p)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if names := slices.Collect(func(yield func(string) bool) {
		for _, e := range ents {
			if !yield(e.Name()) {
				return
			}
		}
	}); !slices.Equal(names, []string{"positions.json"}) {
		t.Fatalf("files left beside the checkpoints: %q", names)
	}
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := LoadCheckpoints(path); err == nil {
		t.Fatal("a corrupt positions file loaded")
	}
}
