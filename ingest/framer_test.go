package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// framerCollector copies every emitted block's lines and checks the block
// invariants, then returns the block to the pool.
type framerCollector struct {
	t      testing.TB
	lines  []string
	blocks []framerBlockInfo
	metas  []Meta
}

type framerBlockInfo struct {
	lines  int // lines emitted before and in this block
	offset int64
	meta   Meta
}

func (c *framerCollector) Emit(b *Block) error {
	c.t.Helper()
	if len(b.B) == 0 || b.B[len(b.B)-1] != '\n' {
		c.t.Fatalf("block does not end with a line end: %q", b.B)
	}
	if n := bytes.Count(b.B, framerNewline); n != b.Lines {
		c.t.Fatalf("block.Lines = %d; the block holds %d lines", b.Lines, n)
	}
	for _, l := range bytes.SplitAfter(b.B[:len(b.B)-1], framerNewline) {
		c.lines = append(c.lines, strings.TrimSuffix(string(l), "\n"))
	}
	c.blocks = append(c.blocks, framerBlockInfo{len(c.lines), b.Offset, b.Meta})
	PutBlock(b)
	return nil
}

// framerModel is what the framer must produce: bytes.Split at '\n', the
// unfinished last piece kept only at the end of the stream or when it is
// over the bound already, lines over the
// bound cut to it, a '\r' ending a line within the bound dropped. ends[i] is
// the stream position after line i (its '\n').
func framerModel(in []byte, maxLine int, end bool) (lines []string, ends []int64, oversized int) {
	parts := bytes.Split(in, framerNewline)
	pos := int64(0)
	for i, p := range parts {
		pos += int64(len(p))
		last := i == len(parts)-1
		if last {
			// An unfinished line is kept at the end of the stream, and as
			// soon as it is known to be over the bound (its prefix).
			if len(p) == 0 || !end && len(p) <= maxLine {
				break
			}
		} else {
			pos++
		}
		if len(p) > maxLine {
			p = p[:maxLine]
			oversized++
		} else {
			p = bytes.TrimSuffix(p, []byte("\r"))
		}
		lines = append(lines, string(p))
		ends = append(ends, pos)
	}
	return lines, ends, oversized
}

// framerRun feeds in as the given chunks, flushing after each, then ends
// (or flushes) the stream.
func framerRun(t testing.TB, chunks [][]byte, maxLine, blockSize int, end bool) (*framerCollector, *Framer) {
	c := &framerCollector{t: t}
	fr := NewFramer(c, maxLine, nil)
	if blockSize > 0 {
		fr.size = blockSize
	}
	for _, ch := range chunks {
		if n, err := fr.Write(ch); err != nil || n != len(ch) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if err := fr.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if end {
		err = fr.End()
	} else {
		err = fr.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	fr.Close()
	return c, fr
}

// framerCheck compares a run with the model, offsets included.
func framerCheck(t testing.TB, in []byte, c *framerCollector, fr *Framer, maxLine int, end bool) {
	t.Helper()
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	want, ends, oversized := framerModel(in, maxLine, end)
	if len(c.lines) != len(want) {
		t.Fatalf("got %d lines, want %d\ngot  %.200q\nwant %.200q", len(c.lines), len(want), c.lines, want)
	}
	for i := range want {
		if c.lines[i] != want[i] {
			t.Fatalf("line %d: got %.200q, want %.200q", i, c.lines[i], want[i])
		}
	}
	if got := fr.Stats().Oversized.Load(); got != uint64(oversized) {
		t.Fatalf("Oversized = %d, want %d", got, oversized)
	}
	if got := fr.Stats().Lines.Load(); got != uint64(len(want)) {
		t.Fatalf("Stats.Lines = %d, want %d", got, len(want))
	}
	if got := fr.Stats().Bytes.Load(); got != uint64(len(in)) {
		t.Fatalf("Stats.Bytes = %d, want %d", got, len(in))
	}
	for _, b := range c.blocks {
		wantOff := ends[b.lines-1]
		if b.offset != wantOff {
			// The one exception: an over-long line whose end was not read
			// yet is stamped with its start.
			lineStart := int64(0)
			if b.lines > 1 {
				lineStart = ends[b.lines-2]
			}
			if b.offset != lineStart || len(want[b.lines-1]) != maxLine {
				t.Fatalf("block ending at line %d: Offset = %d, want %d", b.lines, b.offset, wantOff)
			}
		}
	}
}

// framerChunkings returns the ways an input is cut into writes: whole, one
// byte at a time, and split in two at every position.
func framerChunkings(in []byte) [][][]byte {
	out := [][][]byte{{in}}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	out = append(out, bytewise)
	for i := 1; i < len(in); i++ {
		out = append(out, [][]byte{in[:i], in[i:]})
	}
	return out
}

func TestFramerLines(t *testing.T) {
	// f feeds in every way it can be chunked, with the default bound and
	// with tiny blocks (both the fast and the general path), and checks the
	// lines against want, before and after End.
	f := func(in string, want, wantEnd []string) {
		t.Helper()
		for _, end := range []bool{false, true} {
			w := want
			if end {
				w = wantEnd
			}
			gotModel, _, _ := framerModel([]byte(in), DefaultMaxLine, end)
			if fmt.Sprintf("%q", gotModel) != fmt.Sprintf("%q", nonNil(w)) {
				t.Fatalf("model for %q (end=%v) = %q, want %q", in, end, gotModel, w)
			}
			for _, chunks := range framerChunkings([]byte(in)) {
				// Blocks just over the longest line, and the default one.
				for _, bs := range []int{0, 44, 45, 64} {
					c, fr := framerRun(t, chunks, bs-1, bs, end)
					framerCheck(t, []byte(in), c, fr, bs-1, end)
				}
			}
		}
	}
	f("", nil, nil)
	f("\n", []string{""}, []string{""})
	f("foo", nil, []string{"foo"})
	f("foo\n", []string{"foo"}, []string{"foo"})
	f("foo\nbar", []string{"foo"}, []string{"foo", "bar"})
	f("a\n\nb\n", []string{"a", "", "b"}, []string{"a", "", "b"})
	f("a\r\nb\r\n", []string{"a", "b"}, []string{"a", "b"})
	f("a\r\nb\r", []string{"a"}, []string{"a", "b"})
	f("a\rb\n\r\r\n\r\n", []string{"a\rb", "\r", ""}, []string{"a\rb", "\r", ""})
	f("\r", nil, []string{""})
	f("x\x00y\xff\xfe\n", []string{"x\x00y\xff\xfe"}, []string{"x\x00y\xff\xfe"})
	f("one line that does not fit in a tiny block\nsecond\n", []string{"one line that does not fit in a tiny block", "second"}, []string{"one line that does not fit in a tiny block", "second"})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestFramerBound(t *testing.T) {
	// f checks in with a bound of maxLine, every chunking, through both
	// paths of the framer (blocks of exactly maxLine+1 and larger ones).
	f := func(in string, maxLine int, want []string, oversized int) {
		t.Helper()
		got, _, n := framerModel([]byte(in), maxLine, true)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || n != oversized {
			t.Fatalf("model = %q, %d; want %q, %d", got, n, want, oversized)
		}
		for _, chunks := range framerChunkings([]byte(in)) {
			for _, bs := range []int{maxLine + 1, maxLine + 2, maxLine + 7, 0} {
				c, fr := framerRun(t, chunks, maxLine, bs, true)
				framerCheck(t, []byte(in), c, fr, maxLine, true)
			}
		}
	}
	f("0123456789abcdef\n", 16, []string{"0123456789abcdef"}, 0)
	f("0123456789abcdefX\n", 16, []string{"0123456789abcdef"}, 1)
	f("a\n0123456789abcdefXYZ\nb\n", 16, []string{"a", "0123456789abcdef", "b"}, 1)
	f("a\n0123456789abcdefXYZ\nb\n0123456789abcdefXYZ\n0123456789abcdefXYZ", 16,
		[]string{"a", "0123456789abcdef", "b", "0123456789abcdef", "0123456789abcdef"}, 3)
	// The bound counts bytes as read: a '\r' before '\n' counts.
	f("0123456789abcde\r\n", 16, []string{"0123456789abcde"}, 0)
	f("0123456789abcdef\r\n", 16, []string{"0123456789abcdef"}, 1)
	f("ab\ncd\n", 1, []string{"a", "c"}, 2)
	f("\n\n", 1, []string{"", ""}, 0)
}

func TestFramerDefaultBound(t *testing.T) {
	// f checks in through Write in chunks of the given size and through
	// ReadFrom with a reader returning at most chunk bytes per read.
	f := func(in []byte, chunk int) {
		t.Helper()
		var chunks [][]byte
		for p := in; len(p) > 0; {
			n := min(chunk, len(p))
			chunks = append(chunks, p[:n])
			p = p[n:]
		}
		c, fr := framerRun(t, chunks, 0, 0, true)
		framerCheck(t, in, c, fr, 0, true)

		c = &framerCollector{t: t}
		fr = NewFramer(c, 0, nil)
		if n, err := fr.ReadFrom(&framerChunkReader{in, chunk}); err != nil || n != int64(len(in)) {
			t.Fatalf("ReadFrom = %d, %v", n, err)
		}
		if err := fr.End(); err != nil {
			t.Fatal(err)
		}
		framerCheck(t, in, c, fr, 0, true)
	}
	line := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	exact := []byte("a\n" + line(DefaultMaxLine, 'x') + "\nb\n")
	over := []byte("a\n" + line(DefaultMaxLine+1, 'x') + "\nb\n")
	huge := []byte("before\n" + line(10<<20, 'h') + "\nafter 1\nafter 2\n")
	for _, chunk := range []int{1 << 20, 64 << 10, 4093, 65537} {
		f(exact, chunk)
		f(over, chunk)
		f(huge, chunk)
	}
	c, fr := framerRun(t, [][]byte{huge}, 0, 0, true)
	if len(c.lines) != 4 || len(c.lines[1]) != 64<<10 || c.lines[2] != "after 1" || fr.Stats().Oversized.Load() != 1 {
		t.Fatalf("10 MiB line: %d lines, Oversized %d", len(c.lines), fr.Stats().Oversized.Load())
	}
}

type framerChunkReader struct {
	b     []byte
	chunk int
}

func (r *framerChunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.chunk)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestFramerReadFrom(t *testing.T) {
	in := []byte("alpha\nbeta\r\ngamma\ndelta")
	for _, r := range []func() io.Reader{
		func() io.Reader { return bytes.NewReader(in) },
		func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) },
		func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) },
		func() io.Reader { return iotest.DataErrReader(bytes.NewReader(in)) },
	} {
		c := &framerCollector{t: t}
		fr := NewFramer(c, 8, nil)
		fr.size = 9
		if n, err := fr.ReadFrom(r()); err != nil || n != int64(len(in)) {
			t.Fatalf("ReadFrom = %d, %v", n, err)
		}
		if fr.Partial() != len("delta") {
			t.Fatalf("Partial = %d", fr.Partial())
		}
		if err := fr.End(); err != nil {
			t.Fatal(err)
		}
		framerCheck(t, in, c, fr, 8, true)
	}

	// A reader error is returned; the bytes before it are kept.
	c := &framerCollector{t: t}
	fr := NewFramer(c, 0, nil)
	boom := errors.New("boom")
	if _, err := fr.ReadFrom(iotest.TimeoutReader(bytes.NewReader(in))); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("ReadFrom error = %v", err)
	}
	if _, err := fr.ReadFrom(iotest.ErrReader(boom)); err != boom {
		t.Fatalf("ReadFrom error = %v", err)
	}
	// A reader making no progress is given up on.
	if _, err := fr.ReadFrom(framerEmptyReader{}); err != io.ErrNoProgress {
		t.Fatalf("ReadFrom error = %v", err)
	}
}

type framerEmptyReader struct{}

func (framerEmptyReader) Read([]byte) (int, error) { return 0, nil }

func TestFramerFlushEndDiscard(t *testing.T) {
	c := &framerCollector{t: t}
	fr := NewFramer(c, 0, nil)
	fr.Flush() // nothing held: no block
	fr.Write([]byte("par"))
	fr.Flush() // only an unfinished line: no block
	if len(c.blocks) != 0 || fr.Partial() != 3 {
		t.Fatalf("blocks %d, partial %d", len(c.blocks), fr.Partial())
	}
	fr.Write([]byte("tial\nnext"))
	fr.Flush()
	fr.Flush() // a second flush emits nothing more
	if len(c.blocks) != 1 || c.blocks[0].lines != 1 || c.lines[0] != "partial" || c.blocks[0].offset != 8 {
		t.Fatalf("after flush: %+v %q", c.blocks, c.lines)
	}
	if n := fr.Discard(); n != 4 {
		t.Fatalf("Discard = %d", n)
	}
	fr.Write([]byte("fresh\nbroken"))
	if n := fr.Discard(); n != 6 {
		t.Fatalf("Discard = %d", n)
	}
	fr.End() // nothing unfinished: only "fresh"
	if fmt.Sprint(c.lines) != "[partial fresh]" {
		t.Fatalf("lines %q", c.lines)
	}
	// Discard in the middle of skipping an over-long line stops the skip.
	fr2 := NewFramer(c, 4, nil)
	fr2.Write([]byte("toolong"))
	fr2.Discard()
	fr2.Write([]byte("ok\n"))
	fr2.End()
	if fmt.Sprint(c.lines[2:]) != "[tool ok]" {
		t.Fatalf("lines %q", c.lines)
	}
	// End with an unfinished line in a full block.
	c = &framerCollector{t: t}
	fr = NewFramer(c, 7, nil)
	fr.size = 8
	fr.Write([]byte("ab\ncdefg"))
	fr.End()
	if fmt.Sprint(c.lines) != "[ab cdefg]" || c.blocks[1].offset != 8 {
		t.Fatalf("lines %q blocks %+v", c.lines, c.blocks)
	}
}

func TestFramerWriteMessage(t *testing.T) {
	c := &framerCollector{t: t}
	fr := NewFramer(c, 8, nil)
	for _, m := range []string{"one", "two\n", "", "three\r\nfour", "\n", "far too long message", "x"} {
		if err := fr.WriteMessage([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	fr.Flush()
	want := "[one two three four  far too  x]"
	if fmt.Sprint(c.lines) != want {
		t.Fatalf("lines %q, want %s", c.lines, want)
	}
	if fr.Stats().Oversized.Load() != 1 || fr.Stats().Bytes.Load() != 40 {
		t.Fatalf("Oversized %d Bytes %d", fr.Stats().Oversized.Load(), fr.Stats().Bytes.Load())
	}
}

func TestFramerMetaAndOffset(t *testing.T) {
	c := &framerCollector{t: t}
	fr := NewFramer(c, 0, nil)
	fr.SetOffset(1000)
	fr.WriteMessage([]byte("a"))
	fr.WriteMessage([]byte("b"))
	fr.SetMeta(Meta{Host: "h1"}) // flushes a, b with the empty Meta
	fr.SetMeta(Meta{Host: "h1"}) // no change, no flush
	fr.WriteMessage([]byte("c"))
	fr.Write([]byte("unfin"))
	fr.SetMeta(Meta{Host: "h2", App: "x"}) // flushes c; "unfin" gets h2
	fr.Write([]byte("ished\n"))
	fr.Flush()
	want := []framerBlockInfo{{2, 1002, Meta{}}, {3, 1003, Meta{Host: "h1"}}, {4, 1014, Meta{Host: "h2", App: "x"}}}
	if fmt.Sprint(c.blocks) != fmt.Sprint(want) || c.lines[3] != "unfinished" {
		t.Fatalf("blocks %+v, want %+v; lines %q", c.blocks, want, c.lines)
	}
}

func TestFramerBlocks(t *testing.T) {
	// Many lines fill many blocks: each block is within the block size and
	// cut at a line end; Lines and Offset add up.
	var in bytes.Buffer
	for i := range 50000 {
		fmt.Fprintf(&in, "2026-11-23T22:55:%02d.%06dZ INFO request id=%d path=/api/v1/items status=200\n", i%60, i, i)
	}
	c, fr := framerRun(t, [][]byte{in.Bytes()}, 0, 0, false)
	framerCheck(t, in.Bytes(), c, fr, 0, false)
	if len(c.blocks) < in.Len()/DefaultBlockSize {
		t.Fatalf("%d blocks for %d bytes", len(c.blocks), in.Len())
	}
	if last := c.blocks[len(c.blocks)-1]; last.offset != int64(in.Len()) || last.lines != 50000 {
		t.Fatalf("last block %+v", last)
	}
}

func TestFramerEmitError(t *testing.T) {
	boom := errors.New("shutting down")
	fr := NewFramer(EmitterFunc(func(b *Block) error { PutBlock(b); return boom }), 7, nil)
	fr.size = 8
	if n, err := fr.Write([]byte("abc\ndefgh\n")); err != boom || n >= 10 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if _, err := fr.ReadFrom(strings.NewReader("123456789\n")); err != boom {
		t.Fatalf("ReadFrom error %v", err)
	}
	fr.Close()
}

func FuzzFramer(f *testing.F) {
	for _, s := range []string{"", "\n", "foo", "foo\nbar", "a\r\n\r\nb\r", "0123456789abcdefXYZ\nb\n", "\x00\xff\n\r\r"} {
		f.Add([]byte(s), uint64(1), uint8(16), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, bound, extra uint8) {
		if len(in) > 8<<10 {
			return
		}
		maxLine := int(bound%32) + 1
		bs := maxLine + 1 + int(extra%16)
		if bound >= 224 {
			maxLine, bs = 0, 0 // the default bound and block size
		}
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		var chunks [][]byte
		for p := in; len(p) > 0; {
			n := min(1+rng.IntN(2*maxLine+3), len(p))
			chunks = append(chunks, p[:n])
			p = p[n:]
		}
		end := seed&1 == 0
		c, fr := framerRun(t, chunks, maxLine, bs, end)
		framerCheck(t, in, c, fr, maxLine, end)
	})
}

// framerBenchInput is about 8 MiB of log lines of varied length.
func framerBenchInput(crlf bool) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	levels := []string{"INFO", "DEBUG", "WARN", "ERROR"}
	eol := "\n"
	if crlf {
		eol = "\r\n"
	}
	var b bytes.Buffer
	for i := 0; b.Len() < 8<<20; i++ {
		fmt.Fprintf(&b, "2026-11-23T22:%02d:%02d.%03dZ %s [worker-%d] req=%08x user=%d path=/api/v1/orders/%d latency_ms=%d msg=%q%s",
			i/60%60, i%60, i%1000, levels[rng.IntN(4)], rng.IntN(16), rng.Uint32(), rng.IntN(1e6), rng.IntN(1e5), rng.IntN(500),
			strings.Repeat("lorem ipsum ", rng.IntN(12)), eol)
	}
	return b.Bytes()
}

func BenchmarkFramer(b *testing.B) {
	for _, crlf := range []bool{false, true} {
		in := framerBenchInput(crlf)
		name := "LF"
		if crlf {
			name = "CRLF"
		}
		b.Run(name+"/ReadFrom", func(b *testing.B) {
			fr := NewFramer(EmitterFunc(func(blk *Block) error { PutBlock(blk); return nil }), 0, nil)
			r := bytes.NewReader(in)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(in)
				if _, err := fr.ReadFrom(r); err != nil {
					b.Fatal(err)
				}
				fr.Flush()
			}
		})
		b.Run(name+"/Write4K", func(b *testing.B) {
			fr := NewFramer(EmitterFunc(func(blk *Block) error { PutBlock(blk); return nil }), 0, nil)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				for p := in; len(p) > 0; {
					n := min(4096, len(p))
					fr.Write(p[:n])
					p = p[n:]
				}
				fr.Flush()
			}
		})
	}
}

// FuzzFramerMessages feeds messages (the input cut at 0x1e bytes) through
// WriteMessage: the lines must be those of the stream in which every
// non-empty message not ending with '\n' gets one.
func FuzzFramerMessages(f *testing.F) {
	for _, s := range []string{"", "a\x1eb", "a\n\x1e\x1eb\r", "0123456789abcdefXYZ\x1e0123456789abcdefXYZ\n"} {
		f.Add([]byte(s), uint8(16), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, bound, extra uint8) {
		if len(in) > 8<<10 {
			return
		}
		maxLine := int(bound%32) + 1
		c := &framerCollector{t: t}
		fr := NewFramer(c, maxLine, nil)
		fr.size = maxLine + 1 + int(extra%16)
		var stream []byte
		for _, m := range bytes.Split(in, []byte{0x1e}) {
			if err := fr.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
			stream = append(stream, m...)
			if len(m) > 0 && m[len(m)-1] != '\n' {
				stream = append(stream, '\n')
			}
		}
		if err := fr.Flush(); err != nil {
			t.Fatal(err)
		}
		want, _, oversized := framerModel(stream, maxLine, true)
		if fmt.Sprintf("%q", nonNil(c.lines)) != fmt.Sprintf("%q", nonNil(want)) {
			t.Fatalf("lines %q, want %q", c.lines, want)
		}
		if got := fr.Stats().Oversized.Load(); got != uint64(oversized) {
			t.Fatalf("Oversized = %d, want %d", got, oversized)
		}
		fr.Close()
	})
}
