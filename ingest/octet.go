package ingest

import (
	"bytes"
	"errors"
)

// This file holds the RFC 6587 octet-counting parser ("MSG-LEN SP
// SYSLOG-MSG"), pure and incremental: it knows nothing of sockets, and a
// frame may arrive split anywhere across calls, its length prefix included.

// errOctetFrame reports a frame whose length prefix is not digits ended by
// one space (or holds more than octetMaxDigits digits). The connection
// cannot be resynchronised by counting any more, so the listener falls back
// to newline framing for the rest of it.
var errOctetFrame = errors.New("ingest: bad octet-counting frame length")

// octetMaxDigits bounds the digits of a length: up to 999,999,999 bytes,
// far above any line bound, so a longer prefix is garbage, not a length.
const octetMaxDigits = 9

const (
	octetLen  uint8 = iota // reading MSG-LEN (or separators before it)
	octetBody              // reading SYSLOG-MSG
	octetSkip              // skipping the rest of an over-long frame
)

// octetKeepBuf is the largest carry buffer kept between frames; a bigger one
// (a frame near the line bound split across reads) is released once used,
// so an idle connection holds little memory.
const octetKeepBuf = 4 << 10

// octetParser is an incremental parser of octet-counted frames. Not safe
// for concurrent use. The zero value is not usable: set max.
type octetParser struct {
	max int // bound on a delivered message; longer frames are cut to it

	state  uint8
	digits [octetMaxDigits]byte
	nd     int    // digits of the length read so far
	want   int    // body bytes of the current frame still to read
	buf    []byte // body of a frame split across Feed calls, at most max bytes
}

// newOctetParser returns a parser cutting messages to maxMsg bytes
// (DefaultMaxLine when <= 0).
func newOctetParser(maxMsg int) *octetParser {
	if maxMsg <= 0 {
		maxMsg = DefaultMaxLine
	}
	return &octetParser{max: maxMsg}
}

// Feed parses data and calls fn for every whole frame, in order. msg is the
// frame's body (SYSLOG-MSG, possibly empty for a zero length): it aliases
// data or the parser's own buffer, is valid only during the call, and fn may
// modify it in place. A frame longer than the bound is delivered as its
// first max bytes with truncated set, as soon as they are in; the rest of it
// is skipped as it arrives.
//
// Feed stops at the first error: fn's error is returned as is. On a broken
// length prefix it returns errOctetFrame with the bytes of the broken frame:
// head, the prefix bytes carried from earlier calls (valid until the next
// Feed), then rest, the unparsed part of data from the offending byte. The
// parser is reset to expect a new frame.
func (p *octetParser) Feed(data []byte, fn func(msg []byte, truncated bool) error) (head, rest []byte, err error) {
	i := 0
	for i < len(data) {
		switch p.state {
		case octetLen:
			c := data[i]
			switch {
			case c >= '0' && c <= '9':
				if p.nd == octetMaxDigits {
					return p.fail(data[i:])
				}
				p.digits[p.nd] = c
				p.nd++
				i++
			case c == ' ' && p.nd > 0:
				n := 0
				for _, d := range p.digits[:p.nd] {
					n = n*10 + int(d-'0')
				}
				p.nd = 0
				i++
				if n == 0 {
					if err := fn(data[i:i], false); err != nil {
						return nil, nil, err
					}
					continue
				}
				p.want = n
				p.state = octetBody
			case p.nd == 0 && (c == '\n' || c == '\r' || c == 0):
				// Some senders end each frame with a newline or NUL
				// on top of its counted length; tolerate it.
				i++
			default:
				return p.fail(data[i:])
			}
		case octetBody:
			take := min(len(data)-i, p.want)
			chunk := data[i : i+take]
			i += take
			p.want -= take
			if len(p.buf) == 0 {
				if take >= p.max && (take > p.max || p.want > 0) {
					// Over-long: deliver the start now, skip the rest.
					if err := p.deliver(fn, chunk[:p.max], true); err != nil {
						return nil, nil, err
					}
					continue
				}
				if p.want == 0 {
					// The whole frame is in data: no copy.
					p.state = octetLen
					if err := fn(chunk, false); err != nil {
						return nil, nil, err
					}
					continue
				}
			}
			room := p.max - len(p.buf)
			if take > room || (take == room && p.want > 0) {
				p.buf = append(p.buf, chunk[:room]...)
				if err := p.deliver(fn, p.buf, true); err != nil {
					return nil, nil, err
				}
				continue
			}
			p.buf = append(p.buf, chunk...)
			if p.want == 0 {
				if err := p.deliver(fn, p.buf, false); err != nil {
					return nil, nil, err
				}
			}
		case octetSkip:
			take := min(len(data)-i, p.want)
			i += take
			p.want -= take
			if p.want == 0 {
				p.state = octetLen
			}
		}
	}
	return nil, nil, nil
}

// deliver hands msg to fn and moves on: the frame is done, or only its
// rest is left to skip.
func (p *octetParser) deliver(fn func([]byte, bool) error, msg []byte, truncated bool) error {
	if p.want > 0 {
		p.state = octetSkip
	} else {
		p.state = octetLen
	}
	// fn may not keep msg, so the buffer can be reused right after.
	defer p.resetBuf()
	return fn(msg, truncated)
}

func (p *octetParser) resetBuf() {
	if cap(p.buf) > octetKeepBuf {
		p.buf = nil
	} else {
		p.buf = p.buf[:0]
	}
}

func (p *octetParser) fail(rest []byte) (head, r []byte, err error) {
	head = p.digits[:p.nd]
	p.nd = 0
	p.state = octetLen
	p.want = 0
	p.resetBuf()
	return head, rest, errOctetFrame
}

// pending returns the body bytes of a frame split across Feed calls and
// not finished yet (nil when none); valid until the next Feed or Reset.
func (p *octetParser) pending() []byte {
	if p.state != octetBody {
		return nil
	}
	return p.buf
}

// Reset drops any frame in progress, as when its connection ended, and
// reports whether one was (a peer that closed mid-frame).
func (p *octetParser) Reset() bool {
	mid := p.nd > 0 || p.state != octetLen
	p.nd = 0
	p.state = octetLen
	p.want = 0
	p.resetBuf()
	return mid
}

// octetFlatten makes one line of a counted message in place: newlines
// (and CR, NUL) ending it are dropped, and those inside it become spaces.
// A syslog message with embedded newlines (a stack trace) is one event, so
// it stays one line: a rule matching any part of it fires once, and the
// alert quotes the whole of it rather than one of its lines. It returns the
// shortened msg.
func octetFlatten(msg []byte) []byte {
	for len(msg) > 0 {
		c := msg[len(msg)-1]
		if c != '\n' && c != '\r' && c != 0 {
			break
		}
		msg = msg[:len(msg)-1]
	}
	if bytes.IndexByte(msg, '\n') < 0 {
		return msg
	}
	for i, c := range msg {
		if c == '\n' {
			msg[i] = ' '
			if i > 0 && msg[i-1] == '\r' {
				msg[i-1] = ' '
			}
		}
	}
	return msg
}
