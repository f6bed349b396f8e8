package ingest

import (
	"bytes"
	"io"
)

// DefaultMaxLine is the default bound on a line's length.
const DefaultMaxLine = 64 << 10

// Framer cuts a stream of bytes into blocks of whole lines and hands full
// blocks to an Emitter. It is not safe for concurrent use.
//
// Lines are the bytes between '\n's, passed on as read (invalid UTF-8 and NUL
// bytes included; the matcher works on bytes) with two exceptions:
//
//   - A '\r' just before a '\n' is dropped, so "a\r\nb\r\n" gives the lines
//     "a" and "b": a pattern ending in `$` matches CRLF logs, as it did in the
//     original TinyWatcher, whose line reader (Rust's BufRead::lines) strips
//     "\r\n" the same way. A '\r' anywhere else is kept.
//   - A line longer than MaxLine (counting its bytes as read, a final '\r'
//     included, '\n' excluded) keeps its first MaxLine bytes, ended by '\n';
//     the rest up to its real end is skipped, and Stats.Oversized counts the
//     line once. Rules still see its start, and the lines after it are intact.
//
// Every block handed on ends with '\n' and holds Lines whole lines. Blocks
// are handed on when full, and on Flush, End and a Meta change; the
// unfinished last line stays in the framer, carried into the next block.
type Framer struct {
	out     Emitter
	stats   *Stats
	maxLine int
	size    int // block capacity

	cur      *Block
	partial  int   // bytes of an unfinished line at the end of cur.B, as read
	skipping bool  // inside an over-long line: drop bytes up to the next '\n'
	skipped  int64 // stream bytes of the over-long line read so far
	pos      int64 // stream position after the bytes written so far
	meta     Meta
}

// NewFramer returns a framer emitting to out. maxLine <= 0 means
// DefaultMaxLine; stats may be nil.
func NewFramer(out Emitter, maxLine int, stats *Stats) *Framer {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if stats == nil {
		stats = new(Stats)
	}
	size := DefaultBlockSize
	if maxLine+1 > size {
		size = maxLine + 1
	}
	return &Framer{out: out, stats: stats, maxLine: maxLine, size: size}
}

// Stats returns the counters the framer updates.
func (f *Framer) Stats() *Stats { return f.stats }

// SetMeta sets the metadata of the lines written from now on. A change
// flushes the whole lines held so far, since a block carries one Meta; an
// unfinished line held gets the new Meta.
func (f *Framer) SetMeta(m Meta) error {
	if m == f.meta {
		return nil
	}
	if err := f.Flush(); err != nil {
		return err
	}
	f.meta = m
	if f.cur != nil {
		f.cur.Meta = m
	}
	return nil
}

// SetOffset sets the stream position reached after the bytes written so
// far, such as the offset a file was opened at. The framer advances it by
// every byte written or read from then on (not by the '\n's that
// WriteMessage and End add) and stamps each block with Block.Offset: the
// stream position just after the block's last line, where reading again
// gives exactly the lines that follow the block. One exception: a block
// whose last line is an over-long line whose end was not read yet is
// stamped with the position where that line starts, so reading again from
// there repeats the line's prefix rather than inventing a line from its
// middle.
func (f *Framer) SetOffset(off int64) { f.pos = off }

func (f *Framer) newBlock() *Block {
	b := GetBlock()
	if cap(b.B) < f.size {
		b.B = make([]byte, 0, f.size)
	} else if f.size < DefaultBlockSize {
		// Only tests make blocks smaller than the pool's, to reach the
		// block-boundary cases with small inputs.
		b.B = b.B[:0:f.size]
	}
	b.Meta = f.meta
	return b
}

func (f *Framer) block() *Block {
	if f.cur == nil {
		f.cur = f.newBlock()
	}
	return f.cur
}

// Write appends stream bytes, emitting every block that fills up. It
// returns an error only when the emitter does. The framer does not keep p.
func (f *Framer) Write(p []byte) (int, error) {
	return f.write(p, true)
}

func (f *Framer) write(p []byte, stream bool) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := f.block()
		if len(b.B) == cap(b.B) {
			if err := f.emit(); err != nil {
				return n - len(p), err
			}
			continue
		}
		c := copy(b.B[len(b.B):cap(b.B)], p)
		b.B = b.B[:len(b.B)+c]
		p = p[c:]
		if stream {
			f.pos += int64(c)
			f.stats.Bytes.Add(uint64(c))
		}
		f.commit(c)
	}
	return n, nil
}

// WriteMessage appends one message as whole lines: a missing final '\n' is
// added, so a message never joins the next one. An empty message adds no
// line.
func (f *Framer) WriteMessage(p []byte) error {
	if _, err := f.Write(p); err != nil {
		return err
	}
	if f.partial > 0 || f.skipping {
		_, err := f.write(framerNewline, false)
		return err
	}
	return nil
}

var framerNewline = []byte{'\n'}

// framerMaxEmptyReads bounds the reads in a row that return nothing and no
// error, as io.Reader asks callers to, before ReadFrom gives up.
const framerMaxEmptyReads = 100

// ReadFrom reads r until EOF straight into blocks, emitting full ones; the
// bytes are read once and never copied again on their way to the matcher.
// It does not flush at EOF: call Flush to hand on a partly filled block.
// It returns nil at EOF, io.ErrNoProgress when r keeps returning nothing,
// and otherwise the reader's or the emitter's error.
func (f *Framer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	empty := 0
	for {
		b := f.block()
		if len(b.B) == cap(b.B) {
			if err := f.emit(); err != nil {
				return total, err
			}
			continue
		}
		n, err := r.Read(b.B[len(b.B):cap(b.B)])
		if n > 0 {
			empty = 0
			b.B = b.B[:len(b.B)+n]
			total += int64(n)
			f.pos += int64(n)
			f.stats.Bytes.Add(uint64(n))
			f.commit(n)
		}
		if err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
		if n == 0 {
			if empty++; empty >= framerMaxEmptyReads {
				return total, io.ErrNoProgress
			}
		}
	}
}

// Flush emits the whole lines held so far; an unfinished line stays. It
// costs nothing when there is nothing to emit.
func (f *Framer) Flush() error {
	if f.cur == nil || len(f.cur.B) == f.partial {
		return nil
	}
	return f.emit()
}

// End finishes the stream (a file read to its end in replay, a closed
// connection): an unfinished last line counts as a line, then everything
// held is emitted.
func (f *Framer) End() error {
	f.skipping = false
	f.skipped = 0
	if f.partial > 0 {
		b := f.cur
		if b.B[len(b.B)-1] == '\r' {
			b.B[len(b.B)-1] = '\n'
		} else {
			if len(b.B) == cap(b.B) {
				if err := f.emit(); err != nil {
					return err
				}
				b = f.cur
			}
			b.B = append(b.B, '\n')
		}
		f.partial = 0
	}
	return f.Flush()
}

// Discard drops an unfinished line (a connection broke mid-line) and
// reports how many bytes it held. Whole lines are kept for the next Flush.
func (f *Framer) Discard() int {
	n := f.partial
	if f.cur != nil {
		f.cur.B = f.cur.B[:len(f.cur.B)-f.partial]
	}
	f.partial = 0
	f.skipping = false
	f.skipped = 0
	return n
}

// Partial is the length of the unfinished line held.
func (f *Framer) Partial() int { return f.partial }

// Close releases the block held, whole lines included: call Flush or End
// first to keep them. The framer must not be used after.
func (f *Framer) Close() {
	if f.cur != nil {
		PutBlock(f.cur)
		f.cur = nil
	}
	f.partial = 0
	f.skipping = false
	f.skipped = 0
}

// commit accounts for the n bytes just appended to cur.B.
func (f *Framer) commit(n int) {
	b := f.cur
	start := len(b.B) - n
	if f.skipping {
		i := bytes.IndexByte(b.B[start:], '\n')
		if i < 0 {
			f.skipped += int64(n)
			b.B = b.B[:start]
			return
		}
		b.B = append(b.B[:start], b.B[start+i+1:]...)
		f.skipping = false
		f.skipped = 0
		if len(b.B) == start {
			return
		}
	}
	if f.maxLine >= cap(b.B)-1 {
		// The fast path, taken with the default bound: a whole line cannot
		// exceed the block, so only the unfinished one needs checking, and
		// without a '\r' no line needs changing. Costs: LastIndexByte finds
		// the last line end from the back, IndexByte is one vector pass.
		last := bytes.LastIndexByte(b.B[start:], '\n')
		if last < 0 {
			f.partial += len(b.B) - start
			if f.partial > f.maxLine {
				f.truncate(len(b.B) - f.partial)
			}
			return
		}
		from := start
		if f.partial > 0 {
			from-- // a '\r' ending the bytes before may precede a '\n' here
		}
		if bytes.IndexByte(b.B[from:start+last], '\r') < 0 {
			f.partial = len(b.B) - start - last - 1
			return
		}
	}
	f.scan(start-f.partial, start)
}

// scan walks the lines from r, the start of the first line touched by the
// new bytes, knowing no '\n' lies between r and search. It cuts lines over
// the bound, drops a '\r' ending a line, compacts the block in place and
// sets partial.
func (f *Framer) scan(r, search int) {
	b := f.cur
	w := r
	for {
		i := bytes.IndexByte(b.B[search:], '\n')
		if i < 0 {
			rest := len(b.B) - r
			if w != r {
				copy(b.B[w:], b.B[r:])
				b.B = b.B[:w+rest]
			}
			f.partial = rest
			if rest > f.maxLine {
				f.truncate(w)
			}
			return
		}
		end := search + i
		keep := end - r
		if keep > f.maxLine {
			keep = f.maxLine
			f.stats.Oversized.Add(1)
		} else if keep > 0 && b.B[end-1] == '\r' {
			keep--
		}
		if w != r || keep != end-r {
			copy(b.B[w:], b.B[r:r+keep])
			b.B[w+keep] = '\n'
		}
		w += keep + 1
		r = end + 1
		search = r
	}
}

// truncate cuts the unfinished line starting at from to maxLine bytes, ends
// it and skips the rest of it as it arrives.
func (f *Framer) truncate(from int) {
	b := f.cur
	b.B = append(b.B[:from+f.maxLine], '\n')
	f.skipped = int64(f.partial)
	f.partial = 0
	f.skipping = true
	f.stats.Oversized.Add(1)
}

// emit hands on the whole lines of cur. The unfinished line, if any, moves
// to a new block; otherwise the next block is taken only when needed, so an
// idle source holds no buffer.
func (f *Framer) emit() error {
	b := f.cur
	whole := len(b.B) - f.partial
	if whole == 0 {
		if len(b.B) == cap(b.B) {
			panic("BUG: ingest.Framer: a block smaller than the line bound")
		}
		return nil
	}
	if f.partial > 0 {
		next := f.newBlock()
		next.B = append(next.B, b.B[whole:]...)
		b.B = b.B[:whole]
		f.cur = next
	} else {
		f.cur = nil
	}
	b.Lines = bytes.Count(b.B, framerNewline)
	if f.skipping {
		b.Offset = f.pos - f.skipped
	} else {
		b.Offset = f.pos - int64(f.partial)
	}
	f.stats.Lines.Add(uint64(b.Lines))
	return f.out.Emit(b)
}
