package ingest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseCollect feeds in to a fresh parser in chunks of size chunk (0: all at
// once) and returns the events as "type|data|id" plus the retry it set.
func sseCollect(t testing.TB, in string, chunk int) ([]string, time.Duration) {
	var p sseParser
	var got []string
	fn := func(ev *sseEvent) error {
		got = append(got, fmt.Sprintf("%s|%s|%s", ev.Type, ev.Data, ev.ID))
		return nil
	}
	b := []byte(in)
	if chunk <= 0 {
		chunk = len(b) + 1
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		// Copy so the parser cannot keep references to the caller's bytes.
		c := append([]byte(nil), b[:n]...)
		if err := p.Feed(c, fn); err != nil {
			t.Fatalf("Feed: %v", err)
		}
		for i := range c {
			c[i] = 'X'
		}
		b = b[n:]
	}
	return got, p.retry
}

func TestSSEParser(t *testing.T) {
	f := func(in string, wantRetry time.Duration, want ...string) {
		t.Helper()
		for _, chunk := range []int{0, 1, 2, 3, 7} {
			got, retry := sseCollect(t, in, chunk)
			if strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") {
				t.Fatalf("chunk %d: %q\ngot  %q\nwant %q", chunk, in, got, want)
			}
			if retry != wantRetry {
				t.Fatalf("chunk %d: %q: retry %v, want %v", chunk, in, retry, wantRetry)
			}
		}
	}
	f("", 0)
	f("\n\n\n", 0)
	f("data: a\n\n", 0, "message|a|")
	f("data:a\n\n", 0, "message|a|")
	f("data:  a\n\n", 0, "message| a|")
	f("data: a \n\n", 0, "message|a |")
	f("data: a\ndata: b\n\n", 0, "message|a\nb|")
	f("data: a\r\ndata: b\r\n\r\n", 0, "message|a\nb|")
	f("data: a\rdata: b\r\r", 0, "message|a\nb|")
	f("data: a\r\n\ndata: b\n\r", 0, "message|a|", "message|b|")
	f("data: a\n\rdata: b\r\n\n", 0, "message|a|", "message|b|")
	f("data: x\r\n\r\n\r\n\n\n", 0, "message|x|")
	// Only one leading BOM is stripped, and only at the start of the stream.
	f("\xEF\xBB\xBFdata: a\n\n", 0, "message|a|")
	f("\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n", 0)
	f("data: a\n\n\xEF\xBB\xBFdata: b\n\n", 0, "message|a|")
	f("\xEF\xBBdata: a\n\n", 0)
	// Comments are ignored wherever they are.
	f(": keepalive\n\n", 0)
	f(":\n:\n", 0)
	f("data: a\n: comment\ndata: b\n\n", 0, "message|a\nb|")
	// Fields without a colon have an empty value.
	f("data\n\n", 0, "message||")
	f("data\ndata\n\n", 0, "message|\n|")
	f("data:\n\n", 0, "message||")
	f("data: a\ndata\ndata: b\n\n", 0, "message|a\n\nb|")
	// Field names are case-sensitive; unknown fields are ignored.
	f("DATA: a\n\n", 0)
	f("foo: bar\ndata: a\n\n", 0, "message|a|")
	f("data : a\n\n", 0)
	// The event type applies to one event, and is dropped with an empty one.
	f("event: foo\ndata: x\n\ndata: y\n\n", 0, "foo|x|", "message|y|")
	f("event: foo\n\ndata: x\n\n", 0, "message|x|")
	f("event\ndata: x\n\n", 0, "message|x|")
	// The last event ID persists across events, and is set at dispatch.
	f("id: 1\ndata: x\n\ndata: y\n\n", 0, "message|x|1", "message|y|1")
	f("id: 1\n\ndata: x\n\n", 0, "message|x|1")
	f("id: 1\ndata: x\n\nid\ndata: y\n\n", 0, "message|x|1", "message|y|")
	f("id: 1\ndata: x\n\nid: 2\x003\ndata: y\n\n", 0, "message|x|1", "message|y|1")
	f("id:  sp\ndata: x\n\n", 0, "message|x| sp")
	// An event not ended by a blank line is never dispatched.
	f("data: x\n", 0)
	f("data: x", 0)
	f("data: x\ndata: y", 0)
	// retry: only ASCII digits count.
	f("retry: 1500\n", 1500*time.Millisecond)
	f("retry: 10a\n", 0)
	f("retry:\n", 0)
	f("retry: -5\n", 0)
	f("retry: 1.5\n", 0)
	f("retry: 100\nretry: x\n", 100*time.Millisecond)
	f("retry: 99999999999999999999999999\n", sseMaxRetry)
	// Bytes pass through untouched.
	f("data: \xff\xfe\x00z\n\n", 0, "message|\xff\xfe\x00z|")
	f("data: a:b: c\n\n", 0, "message|a:b: c|")
}

func TestSSEParserLastEventID(t *testing.T) {
	var p sseParser
	var got []string
	fn := func(ev *sseEvent) error { got = append(got, string(ev.Data)); return nil }
	if err := p.Feed([]byte("id: 7\ndata: a\n\nid: 8\ndata: b"), fn); err != nil {
		t.Fatal(err)
	}
	if id := p.LastEventID(); id != "7" {
		t.Fatalf("LastEventID = %q, want 7: an unfinished event must not move it", id)
	}
	// A new connection: the half event is dropped, the id kept, the BOM
	// accepted again, and an event without id keeps the last id.
	p.Reset()
	if err := p.Feed([]byte("\xEF\xBB\xBFdata: c\n\n"), fn); err != nil {
		t.Fatal(err)
	}
	if id := p.LastEventID(); id != "7" {
		t.Fatalf("LastEventID after reset = %q, want 7", id)
	}
	if strings.Join(got, ",") != "a,c" {
		t.Fatalf("got %q", got)
	}
}

func TestSSEParserBounds(t *testing.T) {
	p := sseParser{maxLine: 16, maxData: 40}
	var got []string
	fn := func(ev *sseEvent) error { got = append(got, string(ev.Data)); return nil }
	in := "data: " + strings.Repeat("x", 100) + "\ndata: ok\n\n" +
		strings.Repeat("data: 0123456789\n", 10) + "\n" +
		"data: after\n\n"
	for i := 0; i < len(in); i += 5 {
		if err := p.Feed([]byte(in[i:min(i+5, len(in))]), fn); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		strings.Repeat("x", 10) + "\nok",
		"0123456789\n0123456789\n0123456789\n0123456", // the first maxData bytes
		"after",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if p.oversized != 2 {
		t.Fatalf("oversized = %d, want 2", p.oversized)
	}
}

func TestSSEParserError(t *testing.T) {
	var p sseParser
	stop := fmt.Errorf("stop")
	n := 0
	err := p.Feed([]byte("data: a\n\ndata: b\n\n"), func(*sseEvent) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err = %v after %d events, want stop after 1", err, n)
	}
}

// sseReference is a direct, whole-input reading of the WHATWG "event stream
// interpretation" algorithm, for differential testing.
func sseReference(in []byte) (events []string, retry time.Duration) {
	in = bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF"))
	var lines [][]byte
	for len(in) > 0 {
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			break // an unterminated last line is never processed
		}
		lines = append(lines, in[:i])
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			i++
		}
		in = in[i+1:]
	}
	var data, typ, idBuf, lastID string
	for _, l := range lines {
		line := string(l)
		if line == "" {
			lastID = idBuf
			if data == "" {
				typ = ""
				continue
			}
			data = strings.TrimSuffix(data, "\n")
			if typ == "" {
				typ = "message"
			}
			events = append(events, fmt.Sprintf("%s|%s|%s", typ, data, lastID))
			data, typ = "", ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			typ = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				n, err := strconv.ParseInt(value, 10, 64)
				if err != nil || n > int64(sseMaxRetry/time.Millisecond) {
					retry = sseMaxRetry
				} else {
					retry = time.Duration(n) * time.Millisecond
				}
			}
		}
	}
	return events, retry
}

func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n",
		"\xEF\xBB\xBFid: 1\r\nevent: e\r\ndata: a\r\ndata\r\n\r\n",
		"data: a\rdata: b\r\r: c\nretry: 10\n\n",
		"id: 1\x00\ndata:x\n\n\n\r\n\r",
		"data: \xff\x00\n\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		if len(in) > 8<<10 {
			return
		}
		want, wantRetry := sseReference(in)
		got, retry := sseCollect(t, string(in), int(chunk))
		if strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") || retry != wantRetry {
			t.Fatalf("%q (chunk %d)\ngot  %q %v\nwant %q %v", in, chunk, got, retry, want, wantRetry)
		}
	})
}

func BenchmarkSSEParser(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 1<<20; i++ {
		fmt.Fprintf(&buf, "id: %d\nevent: log\ndata: 2024-01-02T03:04:05Z INFO request served path=/api/v1/items status=200\n\n", i)
	}
	in := buf.Bytes()
	var p sseParser
	n := 0
	fn := func(ev *sseEvent) error { n += len(ev.Data); return nil }
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p.Reset()
		for i := 0; i < len(in); i += 32 << 10 {
			if err := p.Feed(in[i:min(i+32<<10, len(in))], fn); err != nil {
				b.Fatal(err)
			}
		}
	}
}
