package sink

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlainText(t *testing.T) {
	a := Alert{Identity: "", Rule: "auth", Source: "syslog:514", Host: "db-3", App: "sshd", Line: "Failed password", Suppressed: 2}
	if got, want := plainText(&a, "fallback", 100, runeLen), "[fallback] auth (syslog:514, host db-3, app sshd): Failed password (and 2 more)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The line is cut, not the head or the count.
	a.Line = strings.Repeat("x", 500)
	got := plainText(&a, "fallback", 100, runeLen)
	if runeLen(got) != 100 || !strings.HasSuffix(got, "x… (and 2 more)") {
		t.Fatalf("got %q (%d)", got, runeLen(got))
	}
}

func FuzzTruncatePack(f *testing.F) {
	f.Add("hello wörld 🔥", 5)
	f.Add("\xff\xfe invalid", 3)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<12 || len(s) > 1<<14 {
			return
		}
		for _, length := range []lengthFunc{runeLen, utf16Len, byteLen} {
			got := truncate(s, limit, length)
			if length(got) > limit {
				t.Fatalf("truncate(%q, %d) = %q measures %d", s, limit, got, length(got))
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("truncate(%q, %d) = %q: invalid UTF-8", s, limit, got)
			}
			if limit == 0 {
				continue
			}
			n := 0
			for _, m := range pack([]string{s, s, "x"}, "\n", limit, length) {
				if length(m.text) > limit {
					t.Fatalf("pack message %q measures %d > %d", m.text, length(m.text), limit)
				}
				n += m.n
			}
			if n != 3 {
				t.Fatalf("pack lost alerts: %d of 3", n)
			}
		}
	})
}
