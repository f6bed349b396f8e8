package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FilePosition is how far a File got in the file it follows: the file's
// identity (device and inode where the system has them, zero elsewhere)
// and an offset in it just after a whole line. It is what a checkpoint
// keeps per path, so that a restart resumes where matching stopped, even
// if the file was rotated meanwhile.
type FilePosition struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
}

// Position returns the position of a block being emitted: the identity of
// the file its lines were read from, and off, the block's Offset. It may
// be called only from out.Emit, on the goroutine running Run, while the
// block is being handed on (a pipeline's per-source emitter records it
// beside the block, and saves it once the block and all before it were
// matched). Elsewhere the identity may already be the next file's.
func (f *File) Position(off int64) FilePosition {
	dev, ino, _ := fileID(f.emitting)
	return FilePosition{Dev: dev, Ino: ino, Offset: off}
}

// Resume makes Run start at p, saved by an earlier run, instead of at the
// end of the file. Call it before Run. If the file at the path is still
// p's file, reading starts at p.Offset (at its beginning if it shrank
// since). If it is another one, the file was rotated while TinyWatcher was
// stopped: p's file is looked for beside the path (a rename keeps its
// identity) and read from p.Offset to its end first, then the new file
// from its beginning; if p's file is gone (compressed, deleted), the new
// file is read from its beginning and the loss is logged. Replay ignores
// Resume.
func (f *File) Resume(p FilePosition) { f.resume = &p }

// openResume opens the file to read first when resuming from p.
func (t *fileTail) openResume(p FilePosition) (*fileGen, int64) {
	g, _ := t.open(false)
	if g != nil && fileSameID(g.fi, p) {
		return t.seek(g, p.Offset)
	}
	if old := t.findRotated(p); old != nil {
		if g != nil {
			g.fd.Close() // queued again when look sees it at the path
		}
		t.f.log.Info("file rotated since the checkpoint; reading the rest of the rotated file first", "rotated", old.fd.Name())
		old.replaced = old.changed
		return t.seek(old, p.Offset)
	}
	if g != nil {
		t.f.log.Warn("file replaced since the checkpoint and the old one is gone; its unread lines are lost", "offset", p.Offset)
	}
	return g, 0
}

// seek starts g at off, or at its beginning if it is shorter.
func (t *fileTail) seek(g *fileGen, off int64) (*fileGen, int64) {
	if off > g.size {
		t.f.log.Info("file shorter than the checkpoint; reading it from the start", "size", g.size, "offset", off)
		off = 0
	}
	if _, err := g.fd.Seek(off, io.SeekStart); err != nil {
		t.readError(err)
		g.fd.Seek(0, io.SeekStart)
		off = 0
	}
	return g, off
}

// findRotated opens the file beside the path that has p's identity.
func (t *fileTail) findRotated(p FilePosition) *fileGen {
	if p.Dev == 0 && p.Ino == 0 {
		return nil
	}
	dir := filepath.Dir(t.path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		fi, err := os.Stat(name)
		if err != nil || !fileSameID(fi, p) {
			continue
		}
		fd, err := os.Open(name)
		if err != nil {
			return nil
		}
		if fi, err = fd.Stat(); err != nil || !fileSameID(fi, p) {
			fd.Close()
			return nil
		}
		return &fileGen{fd: fd, fi: fi, size: fi.Size(), changed: fi.ModTime()}
	}
	return nil
}

// fileSameID reports whether fi is p's file; without identities, whether
// it is long enough to be.
func fileSameID(fi os.FileInfo, p FilePosition) bool {
	dev, ino, ok := fileID(fi)
	if !ok || p.Dev == 0 && p.Ino == 0 {
		return fi.Size() >= p.Offset
	}
	return dev == p.Dev && ino == p.Ino
}

// Checkpoints is a positions file: the FilePosition of each followed path,
// kept in memory and saved atomically (written aside, synced, renamed).
// Safe for concurrent use.
type Checkpoints struct {
	path string

	mu    sync.Mutex
	m     map[string]FilePosition
	dirty bool
}

// LoadCheckpoints reads the positions file at path; a missing file gives
// empty checkpoints.
func LoadCheckpoints(path string) (*Checkpoints, error) {
	c := &Checkpoints{path: path, m: make(map[string]FilePosition)}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoints: %w", err)
	}
	if err := json.Unmarshal(data, &c.m); err != nil {
		return nil, fmt.Errorf("cannot parse checkpoints %q: %w; remove the file to start over from the ends of the files", path, err)
	}
	return c, nil
}

// Get returns the position saved for a followed path.
func (c *Checkpoints) Get(path string) (FilePosition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[path]
	return p, ok
}

// Set records the position reached in a followed path.
func (c *Checkpoints) Set(path string, p FilePosition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[path]; !ok || old != p {
		c.m[path] = p
		c.dirty = true
	}
}

// Save writes the positions if they changed since the last Save.
func (c *Checkpoints) Save() error {
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	data, err := json.MarshalIndent(c.m, "", "  ")
	c.dirty = false
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := checkpointWrite(c.path, data); err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
		return fmt.Errorf("cannot save checkpoints: %w", err)
	}
	return nil
}

func checkpointWrite(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
