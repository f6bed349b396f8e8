package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// File follows one log file like `tail -F`: by name, across rotation,
// starting at its end. It implements Source; Kind is KindFile and Name the
// path as configured.
//
// What it matches of `tail -F`, and where it does better:
//
//   - Start: lines already in the file are skipped, except an unfinished
//     last line being written at start-up, which is read whole once it
//     ends (tail would start in its middle). A file that does not exist yet
//     is waited for (logged once) and read from its beginning when it
//     appears; so is a file that was unreadable at start-up, unless it is
//     still the same file, which is then read from where its end was.
//   - Growth is seen through file-system events (one fsnotify watcher on
//     the directory, shared by every File and GlobWatcher of the process,
//     so hundreds of files do not run out of inotify instances) and, since
//     events are lost on some file systems (NFS, some FUSE and container
//     mounts), by polling every 250 ms as well. Every read burst is handed
//     on as soon as it reaches the end of the file, so latency is one event
//     or one poll.
//   - Rename rotation (logrotate `create`, rename then create): when the
//     path names another file, the new file is opened at once, but the old
//     one is read on, through the descriptor still open, until it has been
//     quiet (its size unchanged) for a second after the new file was
//     noticed; only then is the new file read, from its beginning. Lines
//     written to the old file just before the rename, and even after it by
//     a writer that has not reopened its log yet, are read, once and in
//     order, before the new file's. A path rotated again before the old
//     file is finished queues each new file (up to 16 held open), so fast
//     size-based rotation loses nothing either, as long as each file was
//     at the path when the source looked (on its creation event, or at a
//     poll). (tail -F switches as soon as it notices the new file, losing
//     a writer's late lines, and skips files rotated away before it
//     looked.) The cost: after a rotation, the new file's lines wait that
//     quiet second.
//   - Delete and recreate: the same. A file deleted and not recreated is
//     released after the same quiet second, so its disk space is freed, and
//     the path is waited for again.
//   - copytruncate: a file shrinking below the position read so far is read
//     again from its beginning. As with tail, lines written between the
//     copy and the truncation are lost, and a file that grows past the old
//     position before it is looked at again cannot be told from one that
//     was not truncated; prefer rename rotation.
//   - The unfinished last line of a file that was rotated away, truncated
//     or deleted counts as a line once the file is left.
//   - Permission and read errors are logged at most once a minute with a
//     count of the repeats (Stats.Errors counts every one), and retried at
//     every poll; the source never gives up on a path.
//   - Lines are at most Options.MaxLine bytes (longer ones keep their
//     start, counted in Stats.Oversized); a '\r' before '\n' is dropped;
//     invalid UTF-8 and NUL bytes pass through as bytes. See Framer.
//   - Every block carries Offset, the file position just after its last
//     line; with Position (called inside Emit) it makes a checkpoint, and
//     Resume starts a later run there, finding the file even if it was
//     rotated while TinyWatcher was stopped. Options.FromStart reads a
//     file that exists at start from its beginning (a file a glob found
//     while running).
//
// With Options.Replay the file is instead read once from its beginning to
// its end, a missing final '\n' is supplied, and Run returns nil: the batch
// mode of `--replay`, tests and benchmarks.
//
// Bytes are read straight into pooled blocks (Framer.ReadFrom), so a line
// is never copied between the file and the matcher. Run stops promptly when
// ctx is cancelled, even in the middle of a large file, and returns nil
// after closing the file and releasing its watch.
type File struct {
	path  string
	opt   Options
	log   *slog.Logger
	stats *Stats

	// poll is how often the file is looked at without an event; grace how
	// long a replaced file must stay quiet before it is left. Tests
	// shorten them.
	poll  time.Duration
	grace time.Duration
	// onOpen, when set (by tests), is called each time a file is opened,
	// with the offset reading starts at.
	onOpen func(off int64)
	// onQueue, when set (by tests), is called when a file that replaced
	// the one being read is opened and queued.
	onQueue func()
	// noEvents, set by tests, makes the source rely on polling alone, as
	// on a file system that sends no events.
	noEvents bool

	burst    int64         // fileBurst; tests shorten it
	resume   *FilePosition // set by Resume
	emitting os.FileInfo   // the file being read, for Position
}

// FilePollInterval is how often a followed file is checked for growth and
// rotation when no file-system event arrives.
const FilePollInterval = 250 * time.Millisecond

// FileRotateGrace is how long a rotated-away file is still read after the
// rotation was noticed and it went quiet.
const FileRotateGrace = time.Second

// NewFile returns a source following the file at path.
func NewFile(path string, opt Options) *File {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stats := opt.Stats
	if stats == nil {
		stats = new(Stats)
	}
	return &File{
		path:  path,
		opt:   opt,
		log:   log.With("source", "file", "path", path),
		stats: stats,
		poll:  FilePollInterval,
		grace: FileRotateGrace,
		burst: fileBurst,
	}
}

// Kind is KindFile.
func (f *File) Kind() Kind { return KindFile }

// Name is the path as given to NewFile.
func (f *File) Name() string { return f.path }

// Stats returns the source's counters (Options.Stats when one was given).
func (f *File) Stats() *Stats { return f.stats }

// Run follows the file until ctx is cancelled, or with Options.Replay reads
// it once. It returns nil when ctx is cancelled; otherwise an error only
// when the file cannot be read in replay, or when out.Emit fails (the
// pipeline is shutting down).
func (f *File) Run(ctx context.Context, out Emitter) error {
	var err error
	if f.opt.Replay {
		err = f.replay(ctx, out)
	} else {
		err = f.follow(ctx, out)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (f *File) replay(ctx context.Context, out Emitter) error {
	fd, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("cannot open file to replay: %w", err)
	}
	defer fd.Close()
	if fi, err := fd.Stat(); err == nil {
		f.emitting = fi
	}
	fr := NewFramer(out, f.opt.MaxLine, f.stats)
	defer fr.Close()
	rd := fileReader{ctx: ctx, fd: fd}
	if _, err := fr.ReadFrom(&rd); err != nil {
		if rd.err != nil {
			return fmt.Errorf("cannot read %q: %w", f.path, err)
		}
		return err
	}
	return fr.End()
}

// fileReader reads a file, and stops when ctx is cancelled so a large file
// does not delay a shutdown. err keeps the file's error apart from the
// emitter's, which Framer.ReadFrom returns the same way. When limited, it
// ends a burst with a false EOF after budget bytes, setting more.
type fileReader struct {
	ctx     context.Context
	fd      *os.File
	err     error
	limited bool
	budget  int64
	more    bool
}

func (r *fileReader) Read(p []byte) (int, error) {
	select {
	case <-r.ctx.Done():
		return 0, r.ctx.Err()
	default:
	}
	if r.limited {
		if r.budget <= 0 {
			r.more = true
			return 0, io.EOF
		}
		if int64(len(p)) > r.budget {
			p = p[:r.budget]
		}
	}
	n, err := r.fd.Read(p)
	r.budget -= int64(n)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// fileBurst bounds one read burst while following, so that a source far
// behind its file (a slow pipeline, a large file found by a glob) still
// looks at its path now and then, queueing the files rotated in meanwhile.
const fileBurst = 8 << 20

// fileTail is the state of one follow run.
type fileTail struct {
	f    *File
	ctx  context.Context
	path string // absolute, as file-system events name it
	fr   *Framer
	rd   fileReader

	cur  *fileGen   // the file being read; nil while the path is waited for
	off  int64      // read position in cur
	next []*fileGen // files that replaced cur at the path, oldest first

	startID  os.FileInfo // the file at start-up, read from its end
	waiting  bool        // "waiting for file" was logged
	openErrs Throttle
	readErrs Throttle
}

// fileGen is one generation of the followed path: a file that the path
// named at some point, held open so that it can be read to its end even
// after it was rotated away, deleted, or replaced again.
type fileGen struct {
	fd       *os.File
	fi       os.FileInfo // its identity
	size     int64       // its size at the last look
	changed  time.Time   // when its size was last seen to change
	replaced time.Time   // when the path was first seen not to name it; zero while it does
}

// fileMaxGens bounds the files held open for one path: a path rotated
// faster than it is read loses the generations beyond.
const fileMaxGens = 16

func (f *File) follow(ctx context.Context, out Emitter) error {
	abs, err := filepath.Abs(f.path)
	if err != nil {
		return fmt.Errorf("cannot resolve %q: %w", f.path, err)
	}
	t := &fileTail{f: f, ctx: ctx, path: abs, fr: NewFramer(out, f.opt.MaxLine, f.stats)}
	t.rd.ctx, t.rd.limited = ctx, true
	defer t.fr.Close()
	defer t.closeAll()

	w, err := &fileWatch{c: make(chan struct{})}, error(nil)
	if !f.noEvents {
		w, err = fileWatchStart(abs, false, nil)
	}
	defer w.stop()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A missing directory is watched once it exists (retry).
		f.log.Warn("file events unavailable; polling the file instead", "interval", f.poll, "err", err)
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() && !f.opt.FromStart && f.resume == nil {
		// Not held open until it is opened, so its inode number could be
		// reused by a new file; a directory is surely replaced.
		t.startID = st
	}
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	for {
		if err := t.step(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.c:
		case <-tick.C:
			w.retry()
		}
	}
}

// step reads what is new and handles truncation and rotation. It returns
// only the emitter's errors and ctx's.
func (t *fileTail) step() error {
	if t.cur == nil {
		var g *fileGen
		var start int64
		if p := t.f.resume; p != nil {
			t.f.resume = nil
			g, start = t.openResume(*p)
		} else {
			g, start = t.open(true)
		}
		if g == nil {
			return nil
		}
		t.use(g, start)
	}
	for {
		if err := t.drain(); err != nil {
			return err
		}
		if err := t.checkTruncated(); err != nil {
			return err
		}
		now := time.Now()
		t.look(now)
		g := t.cur
		if g.replaced.IsZero() || now.Sub(g.replaced) < t.f.grace || now.Sub(g.changed) < t.f.grace || t.off < g.size {
			return nil
		}
		// The path names another file, or none, and this one has been
		// quiet for the grace period: leave it.
		if err := t.fr.End(); err != nil {
			return err
		}
		g.fd.Close()
		t.cur, t.rd.fd = nil, nil
		if len(t.next) == 0 {
			t.f.log.Info("file removed; waiting for it to reappear")
			t.waiting = true
			return nil
		}
		t.f.log.Info("file rotated; reading the new file from its start")
		next := t.next[0]
		t.next = t.next[1:]
		t.use(next, 0)
	}
}

// use makes g the file read, from start.
func (t *fileTail) use(g *fileGen, start int64) {
	t.cur, t.off = g, start
	t.rd.fd, t.rd.err = g.fd, nil
	t.f.emitting = g.fi
	t.fr.SetOffset(start)
	if t.f.onOpen != nil {
		t.f.onOpen(start)
	}
}

// checkTruncated starts cur again from its beginning if it shrank below
// the position read (copytruncate).
func (t *fileTail) checkTruncated() error {
	st, err := t.cur.fd.Stat()
	if err != nil || st.Size() >= t.off {
		return nil
	}
	t.f.log.Info("file truncated; reading it from the start", "size", st.Size(), "offset", t.off)
	if err := t.fr.End(); err != nil {
		return err
	}
	if _, err := t.cur.fd.Seek(0, io.SeekStart); err != nil {
		t.readError(err)
		return nil
	}
	t.off = 0
	t.fr.SetOffset(0)
	return t.drain()
}

// look notes what the path names now, opening a new file at once so that
// it is read in turn even if it is rotated away before cur is finished,
// and the sizes of the files held.
func (t *fileTail) look(now time.Time) {
	last := t.cur
	if len(t.next) > 0 {
		last = t.next[len(t.next)-1]
	}
	st, err := os.Stat(t.path)
	switch {
	case err == nil:
		if t.held(st) {
			if os.SameFile(st, t.cur.fi) && len(t.next) == 0 {
				t.cur.replaced = time.Time{} // renamed back
			}
			break
		}
		if last.replaced.IsZero() {
			last.replaced = now
		}
		if len(t.next) >= fileMaxGens {
			t.openErrs.Log(t.ctx, t.f.log, slog.LevelWarn, "file rotated faster than it is read; some rotated files are skipped")
			break
		}
		if g, _ := t.open(false); g != nil {
			if t.held(g.fi) {
				g.fd.Close() // renamed back in between
			} else {
				t.next = append(t.next, g)
				if t.f.onQueue != nil {
					t.f.onQueue()
				}
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if last.replaced.IsZero() {
			last.replaced = now
		}
	default:
		t.f.stats.Errors.Add(1)
		t.openErrs.Log(t.ctx, t.f.log, slog.LevelWarn, "cannot look at file", "err", err)
	}
	t.cur.sized(now)
	for _, g := range t.next {
		g.sized(now)
	}
}

// sized notes g's size and when it changed.
func (g *fileGen) sized(now time.Time) {
	if st, err := g.fd.Stat(); err == nil && st.Size() != g.size {
		g.size, g.changed = st.Size(), now
	}
}

// held reports whether fi is one of the files held open.
func (t *fileTail) held(fi os.FileInfo) bool {
	if t.cur != nil && os.SameFile(fi, t.cur.fi) {
		return true
	}
	for _, g := range t.next {
		if os.SameFile(fi, g.fi) {
			return true
		}
	}
	return false
}

// open opens the path and returns the file and where to start reading it:
// from where its end was if it is the file that was there at start-up
// (first), from its beginning otherwise.
func (t *fileTail) open(first bool) (*fileGen, int64) {
	fd, err := os.Open(t.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if first && !t.waiting {
				t.f.log.Info("file does not exist; waiting for it")
				t.waiting = true
			}
			return nil, 0
		}
		t.f.stats.Errors.Add(1)
		t.openErrs.Log(t.ctx, t.f.log, slog.LevelWarn, "cannot open file; retrying", "err", err)
		return nil, 0
	}
	fi, err := fd.Stat()
	if err == nil && fi.IsDir() {
		err = errors.New("is a directory")
	}
	if err != nil {
		fd.Close()
		t.f.stats.Errors.Add(1)
		t.openErrs.Log(t.ctx, t.f.log, slog.LevelWarn, "cannot open file; retrying", "err", err)
		return nil, 0
	}
	var start int64
	if first && t.startID != nil && os.SameFile(fi, t.startID) {
		start = t.tailStart(fd, min(t.startID.Size(), fi.Size()))
	}
	if first {
		t.startID = nil
	}
	if start > 0 {
		if _, err := fd.Seek(start, io.SeekStart); err != nil {
			fd.Close()
			t.readError(err)
			return nil, 0
		}
	}
	if t.waiting {
		t.f.log.Info("file appeared")
		t.waiting = false
	}
	return &fileGen{fd: fd, fi: fi, size: fi.Size(), changed: time.Now()}, start
}

// tailStart is where following a file whose end was at size starts: size,
// or the start of an unfinished last line (one being written) if it began
// within the line bound.
func (t *fileTail) tailStart(fd *os.File, size int64) int64 {
	if size == 0 {
		return 0
	}
	n := int64(t.fr.maxLine) + 1
	if n > size {
		n = size
	}
	buf := make([]byte, n)
	if _, err := fd.ReadAt(buf, size-n); err != nil {
		return size
	}
	if buf[n-1] == '\n' {
		return size
	}
	for i := n - 2; i >= 0; i-- {
		if buf[i] == '\n' {
			return size - n + i + 1
		}
	}
	if n == size {
		return 0 // the whole file is one unfinished line
	}
	return size
}

// drain reads cur to its end and hands on every whole line read.
func (t *fileTail) drain() error {
	for {
		t.rd.budget, t.rd.more = max(t.f.burst, 1<<10), false
		n, err := t.fr.ReadFrom(&t.rd)
		t.off += n
		if err != nil {
			if t.rd.err == nil {
				return err // the emitter's or ctx's
			}
			t.readError(err)
			t.rd.err = nil
			return t.fr.Flush()
		}
		if err := t.fr.Flush(); err != nil {
			return err
		}
		if !t.rd.more {
			return nil
		}
		t.look(time.Now())
	}
}

func (t *fileTail) readError(err error) {
	t.f.stats.Errors.Add(1)
	t.readErrs.Log(t.ctx, t.f.log, slog.LevelWarn, "cannot read file; retrying", "err", err)
}

func (t *fileTail) closeAll() {
	if t.cur != nil {
		t.cur.fd.Close()
		t.cur = nil
	}
	for _, g := range t.next {
		g.fd.Close()
	}
	t.next = nil
}

// fileWatchHub multiplexes one fsnotify watcher over every File and
// GlobWatcher of the process. Linux allows 128 inotify instances per user
// by default, so a watcher per file would fail with a few hundred files;
// a watch per directory costs little. The watcher is closed, and its
// goroutine ends, when the last subscription stops.
//
// Locking: opMu serialises changes to the watcher and is never taken by
// the dispatch goroutine; subMu guards the subscriptions and is never held
// while calling into fsnotify, whose reader may be blocked sending us an
// event while it holds its own lock.
type fileWatchHub struct {
	opMu  sync.Mutex
	w     *fsnotify.Watcher
	done  chan struct{}
	count int // subscriptions

	subMu sync.Mutex
	dirs  map[string]*fileWatchDir
}

type fileWatchDir struct {
	watched bool
	subs    map[*fileWatch]struct{}
}

// fileWatch is a subscription to the events of one file (name), or of any
// entry of a directory (name ""). c receives a coalesced signal.
type fileWatch struct {
	c         chan struct{}
	dir, name string
}

var fileHub fileWatchHub

// fileWatchStart subscribes to events about path (any entry of path's
// directory if anyName), signalling c, or a new channel when c is nil. An
// error means events are unavailable for now (the subscription is still
// valid and retry tries again): poll.
func fileWatchStart(path string, anyName bool, c chan struct{}) (*fileWatch, error) {
	path = filepath.Clean(path)
	if c == nil {
		c = make(chan struct{}, 1)
	}
	s := &fileWatch{c: c, dir: filepath.Dir(path), name: path}
	if anyName {
		s.name = ""
	}
	h := &fileHub
	h.opMu.Lock()
	defer h.opMu.Unlock()
	var err error
	if h.w == nil {
		if h.w, err = fsnotify.NewWatcher(); err != nil {
			h.w = nil
		} else {
			h.done = make(chan struct{})
			go h.loop(h.w, h.done)
		}
	}
	h.count++
	h.subMu.Lock()
	if h.dirs == nil {
		h.dirs = make(map[string]*fileWatchDir)
	}
	d := h.dirs[s.dir]
	if d == nil {
		d = &fileWatchDir{subs: make(map[*fileWatch]struct{})}
		h.dirs[s.dir] = d
	}
	d.subs[s] = struct{}{}
	h.subMu.Unlock()
	if e := h.addLocked(s.dir); err == nil {
		err = e
	}
	return s, err
}

// addLocked watches dir unless it is watched already. opMu is held.
func (h *fileWatchHub) addLocked(dir string) error {
	if h.w == nil {
		return nil
	}
	h.subMu.Lock()
	d := h.dirs[dir]
	need := d != nil && !d.watched
	h.subMu.Unlock()
	if !need {
		return nil
	}
	if err := h.w.Add(dir); err != nil {
		return err
	}
	h.subMu.Lock()
	d.watched = true
	h.subMu.Unlock()
	return nil
}

// retry watches the subscription's directory again if its watch was lost
// (the directory was removed or did not exist); called at every poll.
func (s *fileWatch) retry() {
	if s.dir == "" {
		return // not subscribed
	}
	h := &fileHub
	h.opMu.Lock()
	h.addLocked(s.dir)
	h.opMu.Unlock()
}

// stop ends the subscription. The channel is not closed.
func (s *fileWatch) stop() {
	if s.dir == "" {
		return
	}
	h := &fileHub
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.subMu.Lock()
	d := h.dirs[s.dir]
	delete(d.subs, s)
	unwatch := len(d.subs) == 0 && d.watched
	if len(d.subs) == 0 {
		delete(h.dirs, s.dir)
	}
	h.subMu.Unlock()
	h.count--
	if h.w == nil {
		return
	}
	if unwatch {
		h.w.Remove(s.dir)
	}
	if h.count == 0 {
		h.w.Close()
		<-h.done
		h.w, h.done = nil, nil
	}
}

func (h *fileWatchHub) loop(w *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			h.dispatch(ev)
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			h.wakeAll() // an overflow lost events: everyone looks
		}
	}
}

func (h *fileWatchHub) dispatch(ev fsnotify.Event) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	if d := h.dirs[ev.Name]; d != nil {
		// Something happened to a watched directory itself.
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			d.watched = false
		}
		for s := range d.subs {
			s.wake()
		}
	}
	if d := h.dirs[filepath.Dir(ev.Name)]; d != nil {
		for s := range d.subs {
			if s.name == "" || s.name == ev.Name {
				s.wake()
			}
		}
	}
}

func (h *fileWatchHub) wakeAll() {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	for _, d := range h.dirs {
		for s := range d.subs {
			s.wake()
		}
	}
}

func (s *fileWatch) wake() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}
