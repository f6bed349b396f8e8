package ingest

import (
	"bytes"
	"time"
)

// This file is a pure, incremental parser of text/event-stream bodies
// (Server-Sent Events) as the WHATWG HTML standard defines them in
// "9.2.6 Interpreting an event stream"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// The HTTP source feeds it the body as it arrives; it knows nothing of
// connections.
//
// Departures from the letter of the standard, all on purpose:
//   - Bytes are not decoded as UTF-8: invalid sequences and NUL bytes in
//     data pass through untouched (the source counts them), as log bytes.
//   - Lines and event data are bounded (sseParser.maxLine, maxData): a
//     longer line or data keeps its first bytes and is counted, so one
//     runaway event cannot exhaust memory.
//   - After Reset (a new connection) the last event ID buffer starts at the
//     last event ID, as browsers do, rather than empty: a resumed stream
//     whose first events carry no id keeps its resume point.

// sseMaxRetry bounds the reconnection time a server may ask for.
const sseMaxRetry = time.Hour

// sseDefaultMaxData is the default bound on one event's data.
const sseDefaultMaxData = 4 << 20

var sseBOM = []byte("\xEF\xBB\xBF")

// sseEvent is one dispatched event. Its slices are only valid during the
// callback that receives it: the parser reuses them.
type sseEvent struct {
	Type []byte // the event field, "message" when there was none
	Data []byte // the data lines joined by '\n', without a final '\n'
	ID   []byte // the last event ID after this event (maybe empty)
}

// sseParser parses an event stream fed in pieces of any size. The zero
// value is ready to use. Not safe for concurrent use.
type sseParser struct {
	maxLine int // bound on one line (DefaultMaxLine + 64 when <= 0)
	maxData int // bound on one event's data (sseDefaultMaxData when <= 0)

	line      []byte // an unfinished line carried between Feed calls
	truncated bool   // line was cut to maxLine: drop bytes up to its end
	cr        bool   // the last line ended with CR: skip one LF that follows
	started   bool   // the first line (where a BOM may be) was seen

	data      []byte // data buffer, each line followed by '\n'
	dataCut   bool   // data went over maxData
	event     []byte // event type buffer
	idBuf     []byte // last event ID buffer
	lastID    []byte // last event ID string, set at dispatch
	typeMsg   []byte
	ev        sseEvent      // the event handed to callbacks, reused so it does not escape
	retry     time.Duration // the last valid retry field, 0 if none
	oversized int           // lines or data cut to the bounds
	comments  int           // comment lines seen (keepalives)
}

// Reset prepares the parser for a new stream (a new connection): the
// unfinished line and event are dropped, a BOM is accepted again; the last
// event ID and the retry time are kept.
func (p *sseParser) Reset() {
	p.line = p.line[:0]
	p.truncated, p.cr, p.started = false, false, false
	p.data = p.data[:0]
	p.dataCut = false
	p.event = p.event[:0]
	p.idBuf = append(p.idBuf[:0], p.lastID...)
}

// LastEventID is the id to send as Last-Event-ID when reconnecting.
func (p *sseParser) LastEventID() string { return string(p.lastID) }

func (p *sseParser) lineBound() int {
	if p.maxLine <= 0 {
		return DefaultMaxLine + 64
	}
	return p.maxLine
}

// Feed parses b and calls fn for every event completed in it. b is not
// kept after Feed returns. An error from fn stops the parse and is
// returned; the rest of b is lost.
func (p *sseParser) Feed(b []byte, fn func(ev *sseEvent) error) error {
	// nextLF and nextCR are the positions of the next line ends in b, -1 when
	// none is left; remembering them keeps the scan linear when a stream uses
	// only one kind of line end.
	nextLF, nextCR := bytes.IndexByte(b, '\n'), bytes.IndexByte(b, '\r')
	pos := 0
	for pos < len(b) {
		if p.cr {
			p.cr = false
			if b[pos] == '\n' {
				pos++
				continue
			}
		}
		if nextLF >= 0 && nextLF < pos {
			if nextLF = bytes.IndexByte(b[pos:], '\n'); nextLF >= 0 {
				nextLF += pos
			}
		}
		if nextCR >= 0 && nextCR < pos {
			if nextCR = bytes.IndexByte(b[pos:], '\r'); nextCR >= 0 {
				nextCR += pos
			}
		}
		end := nextLF
		if end < 0 || (nextCR >= 0 && nextCR < end) {
			end = nextCR
		}
		if end < 0 {
			p.appendLine(b[pos:])
			return nil
		}
		var line []byte
		if len(p.line) == 0 && !p.truncated {
			line = b[pos:end]
			if len(line) > p.lineBound() {
				line = line[:p.lineBound()]
				p.oversized++
			}
		} else {
			p.appendLine(b[pos:end])
			line = p.line
		}
		p.cr = b[end] == '\r'
		pos = end + 1
		err := p.processLine(line, fn)
		p.line = p.line[:0]
		p.truncated = false
		if err != nil {
			return err
		}
	}
	return nil
}

// appendLine adds part of an unfinished line, cutting it to the bound.
func (p *sseParser) appendLine(s []byte) {
	if p.truncated {
		return
	}
	if room := p.lineBound() - len(p.line); len(s) > room {
		s = s[:room]
		p.truncated = true
		p.oversized++
	}
	p.line = append(p.line, s...)
}

func (p *sseParser) processLine(line []byte, fn func(ev *sseEvent) error) error {
	if !p.started {
		p.started = true
		line = bytes.TrimPrefix(line, sseBOM)
	}
	if len(line) == 0 {
		return p.dispatch(fn)
	}
	if line[0] == ':' {
		p.comments++
		return nil
	}
	field, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		p.appendData(value)
	case "event":
		p.event = append(p.event[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuf = append(p.idBuf[:0], value...)
		}
	case "retry":
		if d, ok := sseParseRetry(value); ok {
			p.retry = d
		}
	}
	return nil
}

// appendData adds value and '\n' to the data buffer, keeping at most
// maxData+1 bytes (the first maxData bytes of the data, and its '\n').
func (p *sseParser) appendData(value []byte) {
	if p.dataCut {
		return
	}
	maxData := p.maxData
	if maxData <= 0 {
		maxData = sseDefaultMaxData
	}
	if room := maxData + 1 - len(p.data); len(value)+1 > room {
		p.data = append(p.data, value[:min(room, len(value))]...)
		p.dataCut = true
		p.oversized++
		return
	}
	p.data = append(p.data, value...)
	p.data = append(p.data, '\n')
}

func (p *sseParser) dispatch(fn func(ev *sseEvent) error) error {
	p.lastID = append(p.lastID[:0], p.idBuf...)
	if len(p.data) == 0 {
		p.event = p.event[:0]
		return nil
	}
	data := p.data
	if p.dataCut {
		maxData := p.maxData
		if maxData <= 0 {
			maxData = sseDefaultMaxData
		}
		data = data[:min(len(data), maxData)]
	} else {
		data = data[:len(data)-1]
	}
	typ := p.event
	if len(typ) == 0 {
		if p.typeMsg == nil {
			p.typeMsg = []byte("message")
		}
		typ = p.typeMsg
	}
	p.ev = sseEvent{Type: typ, Data: data, ID: p.lastID}
	err := fn(&p.ev)
	p.data = p.data[:0]
	p.dataCut = false
	p.event = p.event[:0]
	return err
}

// sseParseRetry reads a retry field: ASCII digits only, in milliseconds,
// capped at sseMaxRetry.
func sseParseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	maxMS := int64(sseMaxRetry / time.Millisecond)
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= maxMS {
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxMS {
		return sseMaxRetry, true
	}
	return time.Duration(n) * time.Millisecond, true
}
