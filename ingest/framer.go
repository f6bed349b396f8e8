package ingest

import (
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLine is the default bound on a line's length.
const DefaultMaxLine = 64 << 10

// Framer cuts a stream of bytes into blocks of whole lines and hands full
// blocks to an Emitter. It is not safe for concurrent use.
//
// A line longer than MaxLine keeps its first MaxLine bytes, ended by '\n',
// and the rest up to its real end is skipped; Stats.Oversized counts it.
type Framer struct {
	out     Emitter
	stats   *Stats
	maxLine int
	size    int // block capacity

	cur      *Block
	partial  int  // bytes of an unfinished line at the end of cur.B
	skipping bool // inside an over-long line: drop bytes up to the next '\n'
	offset   int64
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
// flushes the lines held so far, since a block carries one Meta.
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

// SetOffset records the source position reached after the bytes written so
// far (a file offset), stamped on the next emitted block.
func (f *Framer) SetOffset(off int64) { f.offset = off }

func (f *Framer) block() *Block {
	if f.cur == nil {
		b := GetBlock()
		if cap(b.B) < f.size {
			b.B = make([]byte, 0, f.size)
		}
		b.Meta = f.meta
		f.cur = b
	}
	return f.cur
}

// Write appends stream bytes, emitting every block that fills up. It
// returns an error only when the emitter does.
func (f *Framer) Write(p []byte) (int, error) {
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
		f.commit(c)
	}
	return n, nil
}

// WriteMessage appends one message as a whole line: a missing final '\n'
// is added, so a message never joins the next one.
func (f *Framer) WriteMessage(p []byte) error {
	if _, err := f.Write(p); err != nil {
		return err
	}
	if f.partial > 0 || f.skipping {
		_, err := f.Write(newline)
		return err
	}
	return nil
}

var newline = []byte{'\n'}

// ReadFrom reads r until EOF straight into blocks, emitting full ones.
// It does not flush at EOF: call Flush to hand on a partly filled block.
func (f *Framer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
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
			b.B = b.B[:len(b.B)+n]
			total += int64(n)
			f.commit(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}

// Flush emits the whole lines held so far; an unfinished line stays.
func (f *Framer) Flush() error {
	if f.cur == nil || len(f.cur.B) == f.partial {
		return nil
	}
	return f.emit()
}

// End finishes the stream: an unfinished last line counts as a line, then
// everything is emitted.
func (f *Framer) End() error {
	if f.partial > 0 {
		f.cur.B = append(f.cur.B, '\n')
		f.partial = 0
	}
	f.skipping = false
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
	return n
}

// Partial is the length of the unfinished line held.
func (f *Framer) Partial() int { return f.partial }

// Close releases the block held. The framer must not be used after.
func (f *Framer) Close() {
	if f.cur != nil {
		PutBlock(f.cur)
		f.cur = nil
	}
	f.partial = 0
}

// commit accounts for the n bytes just appended to cur.B.
func (f *Framer) commit(n int) {
	b := f.cur
	start := len(b.B) - n
	f.stats.Bytes.Add(uint64(n))
	if f.skipping {
		i := bytes.IndexByte(b.B[start:], '\n')
		if i < 0 {
			b.B = b.B[:start]
			return
		}
		b.B = append(b.B[:start], b.B[start+i+1:]...)
		f.skipping = false
	}
	lineStart := start - f.partial
	if f.maxLine >= cap(b.B)-1 {
		// Complete lines cannot exceed the block: only the unfinished one can.
		if last := bytes.LastIndexByte(b.B[start:], '\n'); last >= 0 {
			f.partial = len(b.B) - start - last - 1
		} else {
			f.partial += len(b.B) - start
		}
		if f.partial > f.maxLine {
			f.truncate(len(b.B) - f.partial)
		}
		return
	}
	// A configured bound below the block size: check every new line.
	for lineStart < len(b.B) {
		i := bytes.IndexByte(b.B[lineStart:], '\n')
		if i < 0 {
			f.partial = len(b.B) - lineStart
			if f.partial > f.maxLine {
				f.truncate(lineStart)
			}
			return
		}
		if i > f.maxLine {
			f.stats.Oversized.Add(1)
			b.B = append(b.B[:lineStart+f.maxLine], b.B[lineStart+i:]...)
			i = f.maxLine
		}
		lineStart += i + 1
	}
	f.partial = 0
}

// truncate cuts the unfinished line starting at from to maxLine bytes, ends
// it and skips the rest of it as it arrives.
func (f *Framer) truncate(from int) {
	b := f.cur
	b.B = append(b.B[:from+f.maxLine], '\n')
	f.partial = 0
	f.skipping = true
	f.stats.Oversized.Add(1)
}

// emit hands on the whole lines of cur and starts a new block holding the
// unfinished line.
func (f *Framer) emit() error {
	b := f.cur
	whole := len(b.B) - f.partial
	if whole == 0 {
		return nil
	}
	next := GetBlock()
	if cap(next.B) < f.size {
		next.B = make([]byte, 0, f.size)
	}
	next.Meta = f.meta
	next.B = append(next.B, b.B[whole:]...)
	b.B = b.B[:whole]
	b.Lines = bytes.Count(b.B, newline)
	b.Offset = f.offset - int64(len(next.B))
	f.stats.Lines.Add(uint64(b.Lines))
	f.cur = next
	return f.out.Emit(b)
}
