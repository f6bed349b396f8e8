package sink

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// mimeQ RFC 2047-encodes s when it is not plain ASCII.
func mimeQ(s string) string { return mime.QEncoding.Encode("utf-8", s) }

// mailSubject is "[TinyWatcher] <identity>: <rules>", with the number of
// alerts when the batch holds more than one.
func mailSubject(batch []Alert, identity string) string {
	var rules []string
	seen := map[string]bool{}
	for i := range batch {
		if r := batch[i].Rule; !seen[r] {
			seen[r] = true
			rules = append(rules, r)
		}
	}
	list := strings.Join(rules[:min(len(rules), 3)], ", ")
	if len(rules) > 3 {
		list += ", …"
	}
	s := "[TinyWatcher] " + identityOf(&batch[0], identity) + ": " + list
	if len(batch) > 1 {
		s += " (" + strconv.Itoa(len(batch)) + " alerts)"
	}
	return s
}

// mailBody is the plain-text body, one block per alert, lines ending in
// "\n".
func mailBody(batch []Alert, identity string, now func() time.Time) string {
	var b strings.Builder
	if len(batch) == 1 {
		fmt.Fprintf(&b, "TinyWatcher alert from %s\n", identityOf(&batch[0], identity))
	} else {
		fmt.Fprintf(&b, "TinyWatcher: %d alerts from %s\n", len(batch), identityOf(&batch[0], identity))
	}
	for i := range batch {
		a := &batch[i]
		b.WriteString("\n")
		fmt.Fprintf(&b, "Rule:   %s\n", a.Rule)
		fmt.Fprintf(&b, "Time:   %s\n", timeOf(a, now).Format(time.RFC3339))
		if a.Source != "" {
			fmt.Fprintf(&b, "Source: %s\n", a.Source)
		}
		if a.Host != "" {
			fmt.Fprintf(&b, "Host:   %s\n", a.Host)
		}
		if a.App != "" {
			fmt.Fprintf(&b, "App:    %s\n", a.App)
		}
		fmt.Fprintf(&b, "Line:   %s%s\n", oneLine(a.Line), andMore(a))
	}
	return b.String()
}

// oneLine keeps a log line on one line of the mail.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// mailMessage is an RFC 5322 message with CRLF line ends and a
// quoted-printable UTF-8 text body.
func mailMessage(from string, to []string, batch []Alert, identity string, now func() time.Time) []byte {
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("Date", now().Format(time.RFC1123Z))
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", headerSafe(mailSubject(batch, identity)))
	h("Message-ID", messageID(from, now))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(mailBody(batch, identity, now), "\n", "\r\n")))
	qp.Close()
	return []byte(b.String())
}

// messageID is <random.time@domain of from>.
func messageID(from string, now func() time.Time) string {
	domain := "tinywatcher.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
			domain = a.Address[i+1:]
		}
	}
	var r [8]byte
	rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "." + strconv.FormatInt(now().UnixNano(), 36) + "@" + domain + ">"
}

// parseAddrs checks from and to and returns their bare addresses.
func parseAddrs(from string, to []string) (string, []string, error) {
	f, err := mail.ParseAddress(from)
	if err != nil {
		return "", nil, fmt.Errorf("bad from address %q: %w", from, err)
	}
	if len(to) == 0 {
		return "", nil, fmt.Errorf("missing to")
	}
	rcpt := make([]string, len(to))
	for i, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return "", nil, fmt.Errorf("bad to address %q: %w", t, err)
		}
		rcpt[i] = a.Address
	}
	return f.Address, rcpt, nil
}
