package sink

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ellipsis marks text cut to a service's limit.
const ellipsis = "…"

// lengthFunc measures text as a service counts it.
type lengthFunc func(string) int

// runeLen counts characters (Slack, PagerDuty).
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// utf16Len counts UTF-16 code units (Telegram and Discord count like
// JavaScript strings: an emoji is two).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// byteLen counts bytes (ntfy).
func byteLen(s string) int { return len(s) }

// truncate cuts s at a character boundary so that it measures at most
// limit, ending with "…" when cut.
func truncate(s string, limit int, length lengthFunc) string {
	if length(s) <= limit {
		return s
	}
	budget := limit - length(ellipsis)
	if budget <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		w := length(string(r))
		if n+w > budget {
			return s[:i] + ellipsis
		}
		n += w
	}
	return s
}

// message is a packed message and the number of alerts in it.
type message struct {
	text string
	n    int
}

// pack joins texts with sep into as few messages as fit in limit, in
// order; a text longer than limit on its own is truncated.
func pack(texts []string, sep string, limit int, length lengthFunc) []message {
	var msgs []message
	var cur strings.Builder
	curLen, curN := 0, 0
	sepLen := length(sep)
	for _, t := range texts {
		t = truncate(t, limit, length)
		tl := length(t)
		if curN > 0 && curLen+sepLen+tl > limit {
			msgs = append(msgs, message{cur.String(), curN})
			cur.Reset()
			curLen, curN = 0, 0
		}
		if curN > 0 {
			cur.WriteString(sep)
			curLen += sepLen
		}
		cur.WriteString(t)
		curLen += tl
		curN++
	}
	if curN > 0 {
		msgs = append(msgs, message{cur.String(), curN})
	}
	return msgs
}

// partial wraps err in a *Partial when sent alerts of the batch went out.
func partial(err error, sent int) error {
	if sent == 0 {
		return err
	}
	return &Partial{Sent: sent, Err: err}
}

// andMore is " (and N more)" when the rule held back N matches, else "".
func andMore(a *Alert) string {
	if a.Suppressed == 0 {
		return ""
	}
	return " (and " + strconv.FormatUint(a.Suppressed, 10) + " more)"
}

// identityOf is the alert's identity, or def when it has none.
func identityOf(a *Alert, def string) string {
	if a.Identity != "" {
		return a.Identity
	}
	return def
}

// timeOf is the alert's time in UTC, or now when it has none.
func timeOf(a *Alert, now func() time.Time) time.Time {
	if a.Time.IsZero() {
		return now().UTC()
	}
	return a.Time.UTC()
}

// plainText is one alert as plain text for chat services:
//
//	[identity] rule (source, host H, app A): line (and N more)
//
// The line is cut so that the whole text measures at most lineLimit.
func plainText(a *Alert, identity string, lineLimit int, length lengthFunc) string {
	head := "[" + identityOf(a, identity) + "] " + a.Rule
	var where []string
	if a.Source != "" {
		where = append(where, a.Source)
	}
	if a.Host != "" {
		where = append(where, "host "+a.Host)
	}
	if a.App != "" {
		where = append(where, "app "+a.App)
	}
	if len(where) > 0 {
		head += " (" + strings.Join(where, ", ") + ")"
	}
	head += ": "
	tail := andMore(a)
	budget := lineLimit - length(head) - length(tail)
	return head + truncate(a.Line, max(budget, 0), length) + tail
}

// marshalJSON is json.Marshal without HTML escaping: services get "<" and
// "&" as written.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("BUG: cannot marshal a payload: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
