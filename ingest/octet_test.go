package ingest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// octetRun feeds the chunks to a parser bounded to maxMsg and describes what
// came out: each message, "!" after a truncated one, and "ERR<bytes>" for a
// broken frame, after which it feeds nothing more.
func octetRun(maxMsg int, chunks ...string) []string {
	p := newOctetParser(maxMsg)
	var out []string
	fn := func(msg []byte, truncated bool) error {
		s := string(msg)
		if truncated {
			s += "!"
		}
		out = append(out, s)
		return nil
	}
	for i, c := range chunks {
		head, rest, err := p.Feed([]byte(c), fn)
		if err != nil {
			// What follows the broken frame is not framed any more.
			out = append(out, "ERR"+string(head)+string(rest)+strings.Join(chunks[i+1:], ""))
			return out
		}
	}
	if p.Reset() {
		out = append(out, "MID")
	}
	return out
}

func TestOctetParser(t *testing.T) {
	f := func(maxMsg int, in string, want ...string) {
		t.Helper()
		// Whole, then split at every position, then byte by byte: the
		// result must not depend on how the bytes arrive.
		if got := octetRun(maxMsg, in); !equalStrings(got, want) {
			t.Fatalf("%q whole: got %q, want %q", in, got, want)
		}
		for i := 1; i < len(in); i++ {
			if got := octetRun(maxMsg, in[:i], in[i:]); !equalStrings(got, want) {
				t.Fatalf("%q split at %d: got %q, want %q", in, i, got, want)
			}
		}
		var bytewise []string
		for i := range len(in) {
			bytewise = append(bytewise, in[i:i+1])
		}
		if got := octetRun(maxMsg, bytewise...); !equalStrings(got, want) {
			t.Fatalf("%q byte by byte: got %q, want %q", in, got, want)
		}
	}
	f(0, "")
	f(0, "3 abc", "abc")
	f(0, "3 abc2 de", "abc", "de")
	f(0, "11 hello world1 x", "hello world", "x")
	// Length 0 is an empty message (the listener counts and drops it).
	f(0, "0 3 abc", "", "abc")
	// Newlines, CR and NUL between frames are tolerated.
	f(0, "3 abc\n3 def\r\n\x001 g", "abc", "def", "g")
	// The body is opaque: spaces, digits, newlines.
	f(0, "7 1 2\n3 4", "1 2\n3 4")
	// Over-long frames keep their first max bytes; the next frame is intact.
	f(4, "4 abcd", "abcd")
	f(4, "5 abcde", "abcd!")
	f(4, "10 abcdefghij2 xy", "abcd!", "xy")
	f(1, "3 abc1 z", "a!", "z")
	// Broken prefixes: the bytes of the frame come back for newline framing.
	f(0, "3 abcx foo", "abc", "ERRx foo")
	f(0, "12x foo", "ERR12x foo")
	f(0, " 3 abc", "ERR 3 abc")
	f(0, "<13>1 - - - - - msg\n", "ERR<13>1 - - - - - msg\n")
	f(0, "1234567890 x", "ERR1234567890 x")
	f(0, "3\nabc", "ERR3\nabc")
	// A peer that closes mid-frame, in the length or in the body.
	f(0, "3 abc12", "abc", "MID")
	f(0, "5 ab", "MID")
	f(0, "5 ", "MID")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOctetParserFnError(t *testing.T) {
	p := newOctetParser(0)
	boom := errors.New("boom")
	_, _, err := p.Feed([]byte("1 a1 b"), func([]byte, bool) error { return boom })
	if err != boom {
		t.Fatalf("got %v, want the callback's error", err)
	}
}

func TestOctetParserReleasesBigBuffer(t *testing.T) {
	p := newOctetParser(1 << 20)
	body := strings.Repeat("x", 100<<10)
	frame := "102400 " + body
	n := 0
	fn := func(msg []byte, _ bool) error { n = len(msg); return nil }
	for i := 0; i < len(frame); i += 1000 {
		if _, _, err := p.Feed([]byte(frame[i:min(i+1000, len(frame))]), fn); err != nil {
			t.Fatal(err)
		}
	}
	if n != len(body) {
		t.Fatalf("got a %d-byte message, want %d", n, len(body))
	}
	if cap(p.buf) > octetKeepBuf {
		t.Fatalf("parser keeps a %d-byte buffer after the frame", cap(p.buf))
	}
}

func TestOctetFlatten(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(octetFlatten([]byte(in))); got != want {
			t.Fatalf("octetFlatten(%q) = %q, want %q", in, got, want)
		}
	}
	f("", "")
	f("\n", "")
	f("abc", "abc")
	f("abc\n", "abc")
	f("abc\r\n\x00", "abc")
	f("Exception\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)\n", "Exception \tat a.b(C.java:1) \tat d.e(F.java:2)")
	f("a\r\nb", "a  b")
	f("a\rb", "a\rb")
}

func FuzzOctet(f *testing.F) {
	for _, s := range []string{"3 abc", "0 ", "5 ab", "12x", "3 abc\n4 defg", "10 abcdefghij", "999999999 a", "\n\r\x001 a"} {
		f.Add([]byte(s), uint8(3), uint8(4))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8, maxMsg uint8) {
		if len(in) > 4096 {
			return
		}
		m := int(maxMsg%16) + 1
		run := func(step int) [][]byte {
			p := newOctetParser(m)
			var out [][]byte
			fn := func(msg []byte, truncated bool) error {
				if len(msg) > m {
					t.Fatalf("message of %d bytes above the bound %d", len(msg), m)
				}
				out = append(out, append([]byte(nil), msg...))
				return nil
			}
			for i := 0; i < len(in); i += step {
				head, rest, err := p.Feed(in[i:min(i+step, len(in))], fn)
				if err != nil {
					if !errors.Is(err, errOctetFrame) {
						t.Fatal(err)
					}
					out = append(out, append([]byte("ERR"), append(append([]byte(nil), head...), rest...)...))
					// What follows the broken frame is not framed any more.
					out[len(out)-1] = append(out[len(out)-1], in[min(i+step, len(in)):]...)
					return out
				}
			}
			return out
		}
		whole := run(max(len(in), 1))
		parts := run(int(split%8) + 1)
		if len(whole) != len(parts) {
			t.Fatalf("whole gave %q, parts gave %q", whole, parts)
		}
		for i := range whole {
			if !bytes.Equal(whole[i], parts[i]) {
				t.Fatalf("whole gave %q, parts gave %q", whole, parts)
			}
		}
	})
}
