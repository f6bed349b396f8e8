package ingest

import "bytes"

// This file parses one syslog message, RFC 5424 or RFC 3164 (BSD), into its
// header fields and MSG. It is pure and allocation-free: every field is a
// subslice of the input.

// syslogMsg is a parsed syslog message. Its byte fields alias the parsed
// input and are empty when the message does not carry them (or carries the
// NILVALUE "-").
type syslogMsg struct {
	Pri       int // PRIVAL, facility*8 + severity; -1 without a valid PRI
	Version   int // 1 for RFC 5424, 0 for RFC 3164 and malformed messages
	Timestamp []byte
	Host      []byte
	App       []byte // RFC 5424 APP-NAME, RFC 3164 TAG
	ProcID    []byte
	MsgID     []byte
	Msg       []byte // what reaches the matcher
}

// syslogMaxTag bounds an RFC 3164 TAG (the RFC says 32; senders write more).
const syslogMaxTag = 64

// syslogParse parses b into m and reports whether b was a well-formed
// message. A malformed message (no PRI, a broken RFC 5424 header or
// structured data) leaves m.Msg holding the whole of b, so nothing is lost.
//
// RFC 3164 is what senders make of it: the timestamp may be the BSD one
// ("Nov  3 22:54:02", optionally with fractions and a year) or RFC 3339 as
// rsyslog forwards it, and the HOSTNAME may be missing (a local sender): a
// token after the timestamp that ends in ':' or holds '[' is taken as the
// TAG. A TAG ends at '[', ':' or a space; "TAG[PID]:" gives PROCID.
func syslogParse(b []byte, m *syslogMsg) bool {
	*m = syslogMsg{Pri: -1, Msg: b}
	pri, n := syslogPri(b)
	if n == 0 {
		return false
	}
	rest := b[n:]
	if v, vn := syslogVersion(rest); vn > 0 {
		if !syslogParse5424(rest[vn:], m) {
			*m = syslogMsg{Pri: -1, Msg: b}
			return false
		}
		m.Pri = pri
		m.Version = v
		return true
	}
	m.Pri = pri
	syslogParse3164(rest, m)
	return true
}

// syslogPri parses "<PRIVAL>" (1 to 3 digits, at most 191) and returns it
// and its length, 0 when b does not start with one.
func syslogPri(b []byte) (pri, n int) {
	if len(b) < 3 || b[0] != '<' {
		return 0, 0
	}
	for i := 1; i < len(b) && i <= 4; i++ {
		c := b[i]
		if c == '>' {
			if i == 1 || pri > 191 {
				return 0, 0
			}
			return pri, i + 1
		}
		if c < '0' || c > '9' {
			return 0, 0
		}
		pri = pri*10 + int(c-'0')
	}
	return 0, 0
}

// syslogVersion parses an RFC 5424 VERSION (a non-zero digit, up to three
// digits, then a space) and returns it and its length with the space.
func syslogVersion(b []byte) (v, n int) {
	if len(b) < 2 || b[0] < '1' || b[0] > '9' {
		return 0, 0
	}
	for i := 0; i < len(b) && i < 4; i++ {
		c := b[i]
		if c == ' ' {
			return v, i + 1
		}
		if c < '0' || c > '9' {
			return 0, 0
		}
		v = v*10 + int(c-'0')
	}
	return 0, 0
}

// syslogField cuts the next space-ended header field; "-" is empty.
func syslogField(b []byte) (field, rest []byte, ok bool) {
	i := bytes.IndexByte(b, ' ')
	if i <= 0 {
		return nil, b, false
	}
	field = b[:i]
	if len(field) == 1 && field[0] == '-' {
		field = nil
	}
	return field, b[i+1:], true
}

// syslogBOM starts an RFC 5424 MSG that declares itself UTF-8.
var syslogBOM = []byte{0xEF, 0xBB, 0xBF}

// syslogParse5424 parses what follows "<PRI>VERSION ":
// TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG].
func syslogParse5424(b []byte, m *syslogMsg) bool {
	var ok bool
	for _, f := range [...]*[]byte{&m.Timestamp, &m.Host, &m.App, &m.ProcID, &m.MsgID} {
		if *f, b, ok = syslogField(b); !ok {
			return false
		}
	}
	n := syslogSDLen(b)
	if n <= 0 {
		return false
	}
	b = b[n:]
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	m.Msg = bytes.TrimPrefix(b, syslogBOM)
	return true
}

// syslogSDLen returns the length of the STRUCTURED-DATA at the start of b:
// "-" or one or more "[SD-ID PARAM="VALUE" ...]" elements, where a value may
// hold '\"', '\\' and '\]' escapes, and ']' or spaces inside quotes. It
// returns -1 when the structured data is missing or unterminated.
func syslogSDLen(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	if b[0] == '-' {
		if len(b) > 1 && b[1] != ' ' {
			return -1
		}
		return 1
	}
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		// Fast path: no escape before the first ']' and balanced quotes
		// (none, or whole values): the element ends there.
		if j := bytes.IndexByte(b[i:], ']'); j < 0 {
			return -1
		} else if seg := b[i : i+j]; bytes.IndexByte(seg, '\\') < 0 && bytes.Count(seg, syslogQuote)%2 == 0 {
			i += j + 1
			continue
		}
		quoted := false
	element:
		for {
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '\\':
				i++ // the escaped byte, whatever it is
			case '"':
				quoted = !quoted
			case ']':
				if !quoted {
					i++
					break element
				}
			}
			i++
		}
	}
	if i == 0 {
		return -1
	}
	return i
}

var syslogQuote = []byte{'"'}

var syslogMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// syslogBSDTimeLen returns the length of an RFC 3164 timestamp at the start
// of b ("Mmm dd hh:mm:ss", the day space-padded), with optional fractions
// and an optional year after it, or an RFC 3339 one; 0 if there is none.
func syslogBSDTimeLen(b []byte) int {
	if len(b) >= 10 && syslogDigits(b[:4]) && b[4] == '-' && b[7] == '-' {
		// RFC 3339, as rsyslog forwards: up to the next space.
		if i := bytes.IndexByte(b, ' '); i > 0 {
			return i
		}
		return len(b)
	}
	if len(b) < 15 || b[3] != ' ' || b[6] != ' ' || b[9] != ':' || b[12] != ':' {
		return 0
	}
	month := false
	for _, mo := range syslogMonths {
		if string(b[:3]) == mo {
			month = true
			break
		}
	}
	if !month || !(b[4] == ' ' || syslogDigits(b[4:5])) || !syslogDigits(b[5:6]) ||
		!syslogDigits(b[7:9]) || !syslogDigits(b[10:12]) || !syslogDigits(b[13:15]) {
		return 0
	}
	n := 15
	if n < len(b) && b[n] == '.' {
		n++
		for n < len(b) && syslogDigits(b[n:n+1]) {
			n++
		}
	}
	// " 2026" (Cisco and others put the year after the time).
	if len(b) >= n+5 && b[n] == ' ' && syslogDigits(b[n+1:n+5]) && (len(b) == n+5 || b[n+5] == ' ') {
		n += 5
	}
	return n
}

func syslogDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// syslogParse3164 parses what follows "<PRI>": [TIMESTAMP SP [HOSTNAME SP]]
// [TAG[PID]: ]MSG. Whatever does not fit is MSG.
func syslogParse3164(b []byte, m *syslogMsg) {
	m.Msg = b
	n := syslogBSDTimeLen(b)
	if n > 0 {
		m.Timestamp = b[:n]
		b = b[n:]
		if len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		m.Msg = b
		// HOSTNAME unless the first token is already a TAG.
		if i := bytes.IndexByte(b, ' '); i > 0 {
			tok := b[:i]
			if tok[len(tok)-1] != ':' && bytes.IndexByte(tok, '[') < 0 {
				m.Host = tok
				b = b[i+1:]
				m.Msg = b
			}
		}
	}
	// TAG: up to '[', ':' or a space; only a TAG ended by ':' or by
	// "[PID]" counts, anything else is message text.
	i := 0
	for i < len(b) && i <= syslogMaxTag {
		c := b[i]
		if c == '[' || c == ':' || c == ' ' {
			break
		}
		i++
	}
	if i == 0 || i >= len(b) || i > syslogMaxTag {
		return
	}
	tag := b[:i]
	rest := b[i:]
	var pid []byte
	if rest[0] == '[' {
		j := bytes.IndexByte(rest, ']')
		if j < 0 || bytes.IndexByte(rest[:j], ' ') >= 0 {
			return
		}
		pid = rest[1:j]
		rest = rest[j+1:]
		if len(rest) > 0 && rest[0] == ':' {
			rest = rest[1:]
		}
	} else if rest[0] == ':' {
		rest = rest[1:]
	} else {
		return
	}
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	m.App = tag
	m.ProcID = pid
	m.Msg = rest
}
