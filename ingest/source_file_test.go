package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fileCollector is an Emitter that copies lines out of every block and
// returns the block to the pool.
type fileCollector struct {
	mu      sync.Mutex
	lines   []string
	offsets []int64
}

func (c *fileCollector) Emit(b *Block) error {
	c.mu.Lock()
	for _, l := range bytes.SplitAfter(b.B[:len(b.B)-1], []byte("\n")) {
		c.lines = append(c.lines, strings.TrimSuffix(string(l), "\n"))
	}
	c.offsets = append(c.offsets, b.Offset)
	c.mu.Unlock()
	PutBlock(b)
	return nil
}

func (c *fileCollector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func (c *fileCollector) lastOffset() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offsets) == 0 {
		return -1
	}
	return c.offsets[len(c.offsets)-1]
}

// fileNoLeaks checks, after the test and its cleanups, that no goroutine
// started during the test is left.
func fileNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// fileWaitFor polls cond until it holds, failing after a generous deadline
// (the machine is shared; nothing here is a timing assertion).
func fileWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fileWaitLines waits until the collector holds exactly want.
func fileWaitLines(t *testing.T, c *fileCollector, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(c.snapshot()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := c.snapshot()
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("line %d: got %q, want %q (got %d lines, want %d)", i, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("got %d lines, want %d: %q", len(got), len(want), got[min(len(got), len(want)):])
	}
}

type fileRun struct {
	src    *File
	c      *fileCollector
	opened chan int64
	cancel context.CancelFunc
	done   chan error
}

// fileStart runs a File on path with short poll and grace periods.
func fileStart(t *testing.T, path string, opt Options) *fileRun {
	t.Helper()
	return fileStartWith(t, path, opt, nil)
}

// fileStartWith is fileStart with a chance to adjust the source first.
func fileStartWith(t *testing.T, path string, opt Options, adjust func(*File)) *fileRun {
	t.Helper()
	if opt.Logger == nil && testing.Verbose() {
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	r := &fileRun{src: NewFile(path, opt), c: &fileCollector{}, opened: make(chan int64, 16), done: make(chan error, 1)}
	r.src.poll = 20 * time.Millisecond
	r.src.grace = 150 * time.Millisecond
	r.src.onOpen = func(off int64) { r.opened <- off }
	if adjust != nil {
		adjust(r.src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.src.Run(ctx, r.c) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitOpen waits for the source to open a file and returns the offset it
// starts reading at.
func (r *fileRun) waitOpen(t *testing.T) int64 {
	t.Helper()
	select {
	case off := <-r.opened:
		return off
	case <-time.After(20 * time.Second):
		t.Fatal("the file was not opened")
		return 0
	}
}

// stop cancels the run and checks that Run returns nil promptly.
func (r *fileRun) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func fileAppend(t *testing.T, path, s string) {
	t.Helper()
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.WriteString(s); err != nil {
		t.Fatal(err)
	}
	fd.Close()
}

func fileLines(prefix string, n int) (text string, lines []string) {
	var b strings.Builder
	for i := range n {
		l := fmt.Sprintf("%s %d", prefix, i)
		lines = append(lines, l)
		b.WriteString(l + "\n")
	}
	return b.String(), lines
}

func TestFileFollowAppend(t *testing.T) {
	fileNoLeaks(t)
	path := filepath.Join(t.TempDir(), "app.log")
	fileAppend(t, path, "old 1\nold 2\nbeing writ")
	r := fileStart(t, path, Options{})
	if off := r.waitOpen(t); off != int64(len("old 1\nold 2\n")) {
		t.Fatalf("started at %d: want the start of the unfinished last line", off)
	}
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	fd.WriteString("ten\n")
	want := []string{"being written"}
	for i := range 2000 {
		l := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%97))
		want = append(want, l)
		// Lines split across writes, several lines in one write.
		switch i % 3 {
		case 0:
			fd.WriteString(l[:3])
			fd.WriteString(l[3:] + "\n")
		case 1:
			fd.WriteString(l + "\n")
		case 2:
			fd.WriteString(l + "\n" + strings.Repeat("", 0))
		}
		if i%500 == 0 {
			// Let the source catch up now and then, so both busy and idle
			// reads happen.
			fileWaitFor(t, "catch-up", func() bool { return len(r.c.snapshot()) >= len(want) })
		}
	}
	fileWaitLines(t, r.c, want)
	st, _ := fd.Stat()
	fileWaitFor(t, "the last offset", func() bool { return r.c.lastOffset() == st.Size() })
	r.stop(t)
	if got := r.src.Stats().Lines.Load(); got != uint64(len(want)) {
		t.Fatalf("Stats.Lines = %d, want %d", got, len(want))
	}
}

func TestFileReplay(t *testing.T) {
	fileNoLeaks(t)
	path := filepath.Join(t.TempDir(), "app.log")
	fileAppend(t, path, "a\r\nb\n\nbad \xff\x00 bytes\nlast without newline")
	c := &fileCollector{}
	if err := NewFile(path, Options{Replay: true}).Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "", "bad \xff\x00 bytes", "last without newline"}
	if !slices.Equal(c.lines, want) {
		t.Fatalf("lines %q, want %q", c.lines, want)
	}
	if err := NewFile(path+".missing", Options{Replay: true}).Run(context.Background(), c); err == nil {
		t.Fatal("replaying a missing file: no error")
	}

	// A large file: every line once, offsets up to the end.
	text, lines := fileLines("replay", 100000)
	os.WriteFile(path, []byte(text), 0o644)
	c = &fileCollector{}
	if err := NewFile(path, Options{Replay: true}).Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.lines, lines) || c.lastOffset() != int64(len(text)) {
		t.Fatalf("%d lines, last offset %d", len(c.lines), c.lastOffset())
	}

	// Cancelled: returns nil at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewFile(path, Options{Replay: true}).Run(ctx, &fileCollector{}); err != nil {
		t.Fatalf("cancelled replay: %v", err)
	}
}

func TestFileRenameRotation(t *testing.T) {
	fileNoLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	fileAppend(t, path, "before start\n")
	r := fileStart(t, path, Options{})
	r.waitOpen(t)

	// The writer keeps its descriptor across the rename, like an
	// application that reopens its log only when told to.
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	text1, want := fileLines("old", 300)
	w.WriteString(text1)
	w.WriteString("right before the rename\nunfinished at rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	w.WriteString(" ends late\nwritten after the rename\n")
	fileAppend(t, path, "new 0\n")
	w.WriteString("late line after the new file appeared\n")
	text2, want2 := fileLines("new", 200)
	fileAppend(t, path, text2[len("new 0\n"):])
	want = append(want, "right before the rename", "unfinished at rotation ends late",
		"written after the rename", "late line after the new file appeared")
	want = append(want, want2...)
	fileWaitLines(t, r.c, want)
	if off := <-r.opened; off != 0 {
		t.Fatalf("the new file was read from %d, not its beginning", off)
	}

	// A second rotation, this time without late writes.
	os.Rename(path, path+".2")
	text3, want3 := fileLines("third", 50)
	fileAppend(t, path, text3)
	fileWaitLines(t, r.c, append(want, want3...))
}

func TestFilePollOnly(t *testing.T) {
	fileNoLeaks(t)
	// Without file-system events, polling finds growth and rotation.
	path := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(path, []byte("old\n"), 0o644)
	r := fileStartWith(t, path, Options{}, func(f *File) { f.noEvents = true })
	r.waitOpen(t)
	text, want := fileLines("polled", 100)
	fileAppend(t, path, text)
	fileWaitLines(t, r.c, want)
	os.Rename(path, path+".1")
	fileAppend(t, path+".1", "late\n")
	text2, want2 := fileLines("after rotation", 10)
	fileAppend(t, path, text2)
	fileWaitLines(t, r.c, append(append(want, "late"), want2...))
}

func TestFileRotationUnderLoad(t *testing.T) {
	fileNoLeaks(t)
	// An application writing as fast as it can through one descriptor,
	// rotated by rename four times in quick succession (the source queues
	// the new files while it finishes the old ones); after each rotation
	// it writes a few lines more to the old file before reopening the
	// path. Every line arrives once, in order.
	path := filepath.Join(t.TempDir(), "busy.log")
	os.WriteFile(path, nil, 0o644)
	queued := make(chan struct{}, 8)
	r := fileStartWith(t, path, Options{}, func(f *File) {
		f.onQueue = func() { queued <- struct{}{} }
	})
	r.waitOpen(t)
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var buf []byte
	for i := range 100000 {
		l := fmt.Sprintf("busy %d", i)
		want = append(want, l)
		buf = append(append(buf, l...), '\n')
		if len(buf) > 4000 || i%20000 == 19999 {
			w.Write(buf)
			buf = buf[:0]
		}
		if i%20000 == 19999 && i < 99999 {
			os.Rename(path, fmt.Sprintf("%s.%d", path, i))
			nw, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			for j := range 3 {
				l := fmt.Sprintf("late %d.%d", i, j)
				want = append(want, l)
				w.WriteString(l + "\n")
			}
			w.Close()
			w = nw
			// A file is read only if it was at the path when the source
			// looked: wait for that before rotating again.
			select {
			case <-queued:
			case <-time.After(20 * time.Second):
				t.Fatal("the new file was not seen")
			}
		}
	}
	w.Close()
	fileWaitLines(t, r.c, want)
}

func TestFileRotationWhileBehind(t *testing.T) {
	fileNoLeaks(t)
	// The pipeline lets one block through at a time while the file is
	// rotated three times: between read bursts the source still looks at
	// the path and queues each new file, then reads them all in order.
	path := filepath.Join(t.TempDir(), "behind.log")
	os.WriteFile(path, nil, 0o644)
	tokens := make(chan struct{})
	queued := make(chan struct{}, 8)
	c := &fileCollector{}
	src := NewFile(path, Options{})
	src.poll, src.grace, src.burst = 20*time.Millisecond, 150*time.Millisecond, 4<<10
	opened := make(chan int64, 8)
	src.onOpen = func(off int64) { opened <- off }
	src.onQueue = func() { queued <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, EmitterFunc(func(b *Block) error {
			select {
			case <-tokens:
			case <-ctx.Done():
				PutBlock(b)
				return ctx.Err()
			}
			return c.Emit(b)
		}))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	<-opened
	var want []string
	for gen := range 4 {
		text, lines := fileLines(fmt.Sprintf("gen %d line", gen), 10000)
		want = append(want, lines...)
		fileAppend(t, path, text)
		if gen == 3 {
			break
		}
		os.Rename(path, fmt.Sprintf("%s.%d", path, gen))
		os.WriteFile(path, nil, 0o644)
		// Let blocks through one at a time until the new file is queued.
		for seen := false; !seen; {
			select {
			case <-queued:
				seen = true
			case tokens <- struct{}{}:
			case <-time.After(20 * time.Second):
				t.Fatal("the new file was not queued")
			}
		}
		if n := len(c.snapshot()); n >= len(want) {
			t.Fatalf("the new file was queued only after the old one was read (%d lines)", n)
		}
	}
	go func() {
		for {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	fileWaitLines(t, c, want)
}

func TestFileCopyTruncate(t *testing.T) {
	fileNoLeaks(t)
	path := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(path, nil, 0o644)
	r := fileStart(t, path, Options{})
	r.waitOpen(t)
	text, want := fileLines("first generation, a long line to make the file longer than what follows", 100)
	fileAppend(t, path, text)
	fileWaitLines(t, r.c, want)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	text2, want2 := fileLines("second", 10)
	fileAppend(t, path, text2)
	fileWaitLines(t, r.c, append(want, want2...))
	fileWaitFor(t, "the offset after truncation", func() bool { return r.c.lastOffset() == int64(len(text2)) })
}

func TestFileDeleteRecreate(t *testing.T) {
	fileNoLeaks(t)
	path := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(path, nil, 0o644)
	r := fileStart(t, path, Options{})
	r.waitOpen(t)
	text, want := fileLines("one", 20)
	fileAppend(t, path, text)
	fileWaitLines(t, r.c, want)
	os.Remove(path)
	text2, want2 := fileLines("two", 20)
	fileAppend(t, path, text2)
	want = append(want, want2...)
	fileWaitLines(t, r.c, want)

	// Deleted and not recreated for a while: the file is released, then the
	// path is waited for and read from its start.
	os.Remove(path)
	time.Sleep(3 * r.src.grace) // not an assertion: lets the release happen first
	text3, want3 := fileLines("three", 20)
	fileAppend(t, path, text3)
	fileWaitLines(t, r.c, append(want, want3...))
}

func TestFileCreatedLater(t *testing.T) {
	fileNoLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "later.log")
	r := fileStart(t, path, Options{})
	time.Sleep(50 * time.Millisecond) // not an assertion: the source is waiting
	text, want := fileLines("created", 30)
	fileAppend(t, path, text)
	if off := r.waitOpen(t); off != 0 {
		t.Fatalf("a file created after start was read from %d", off)
	}
	fileWaitLines(t, r.c, want)
}

func TestFileUnreadablePath(t *testing.T) {
	fileNoLeaks(t)
	// A directory where the file should be: an error, counted and retried;
	// once a file replaces it, it is read from its start.
	path := filepath.Join(t.TempDir(), "app.log")
	os.Mkdir(path, 0o755)
	r := fileStart(t, path, Options{})
	fileWaitFor(t, "an error to be counted", func() bool { return r.src.Stats().Errors.Load() >= 2 })
	os.Remove(path)
	text, want := fileLines("now a file", 5)
	fileAppend(t, path, text)
	fileWaitLines(t, r.c, want)
}

func TestFileCancel(t *testing.T) {
	fileNoLeaks(t)
	dir := t.TempDir()
	var runs []*fileRun
	// Many files in one directory share one watcher; all stop on cancel.
	for i := range 50 {
		path := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		fileAppend(t, path, "x\n")
		runs = append(runs, fileStart(t, path, Options{}))
	}
	for _, r := range runs {
		r.waitOpen(t)
	}
	fileAppend(t, filepath.Join(dir, "f7.log"), "hello\n")
	fileWaitLines(t, runs[7].c, []string{"hello"})
	for _, r := range runs {
		r.stop(t)
	}
	if fileHub.w != nil || fileHub.count != 0 {
		t.Fatalf("the shared watcher is still open: %d subscriptions", fileHub.count)
	}
}

// BenchmarkFileReplay reads a 64 MiB log file through the file source.
func BenchmarkFileReplay(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.log")
	in := framerBenchInput(false)
	var data []byte
	for len(data) < 64<<20 {
		data = append(data, in...)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	var lines int
	out := EmitterFunc(func(blk *Block) error { lines += blk.Lines; PutBlock(blk); return nil })
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := NewFile(path, Options{Replay: true}).Run(context.Background(), out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkFileFollowLatency measures the time from a line's write to its
// block reaching the emitter while following (ns/op is that latency).
func BenchmarkFileFollowLatency(b *testing.B) {
	path := filepath.Join(b.TempDir(), "follow.log")
	os.WriteFile(path, nil, 0o644)
	got := make(chan struct{}, 1)
	src := NewFile(path, Options{})
	opened := make(chan int64, 1)
	src.onOpen = func(off int64) { opened <- off }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, EmitterFunc(func(blk *Block) error { PutBlock(blk); got <- struct{}{}; return nil }))
	}()
	<-opened
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	line := []byte("2026-11-23T23:00:00Z ERROR something failed\n")
	for b.Loop() {
		w.Write(line)
		<-got
	}
	cancel()
	<-done
}

// BenchmarkFileFollow measures following throughput: each op appends 1 MiB
// of log lines and waits until the source has handed them on.
func BenchmarkFileFollow(b *testing.B) {
	path := filepath.Join(b.TempDir(), "follow.log")
	os.WriteFile(path, nil, 0o644)
	in := framerBenchInput(false)
	chunk := in[:bytes.LastIndexByte(in[:1<<20], '\n')+1]
	var emitted atomic.Int64
	src := NewFile(path, Options{})
	opened := make(chan int64, 1)
	src.onOpen = func(off int64) { opened <- off }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, EmitterFunc(func(blk *Block) error { emitted.Store(blk.Offset); PutBlock(blk); return nil }))
	}()
	<-opened
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var written int64
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		w.Write(chunk)
		written += int64(len(chunk))
		for emitted.Load() < written {
			runtime.Gosched()
		}
	}
	cancel()
	<-done
}
