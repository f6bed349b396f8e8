package ingest

import (
	"bytes"
	"fmt"
	"testing"
)

// syslogDescribe renders every field of m on one line for f-tests.
func syslogDescribe(m *syslogMsg) string {
	return fmt.Sprintf("pri=%d v=%d ts=%s host=%s app=%s pid=%s msgid=%s msg=%q",
		m.Pri, m.Version, m.Timestamp, m.Host, m.App, m.ProcID, m.MsgID, m.Msg)
}

func TestSyslogParse(t *testing.T) {
	f := func(in string, valid bool, want string) {
		t.Helper()
		var m syslogMsg
		ok := syslogParse([]byte(in), &m)
		if got := syslogDescribe(&m); ok != valid || got != want {
			t.Fatalf("syslogParse(%q)\n got %v %s\nwant %v %s", in, ok, got, valid, want)
		}
	}
	// RFC 5424, as util-linux logger sends it.
	f(`<13>1 2026-11-23T22:44:01.053809+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] hello world`, true,
		`pri=13 v=1 ts=2026-11-23T22:44:01.053809+00:00 host=vm app=myapp pid= msgid= msg="hello world"`)
	// RFC 5424 examples.
	f(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - `+"\xEF\xBB\xBF"+`'su root' failed for lonvick on /dev/pts/8`, true,
		`pri=34 v=1 ts=2003-10-11T22:14:15.003Z host=mymachine.example.com app=su pid= msgid=ID47 msg="'su root' failed for lonvick on /dev/pts/8"`)
	f(`<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.`, true,
		`pri=165 v=1 ts=2003-08-24T05:14:15.000003-07:00 host=192.0.2.1 app=myproc pid=8710 msgid= msg="%% It's time to make the do-nuts."`)
	f(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] `+"\xEF\xBB\xBF"+`An application event log entry...`, true,
		`pri=165 v=1 ts=2003-10-11T22:14:15.003Z host=mymachine.example.com app=evntslog pid= msgid=ID47 msg="An application event log entry..."`)
	f(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`, true,
		`pri=165 v=1 ts=2003-10-11T22:14:15.003Z host=mymachine.example.com app=evntslog pid= msgid=ID47 msg=""`)
	// Structured data with escaped ']', '"' and '\', and ']' and spaces in quotes.
	f(`<13>1 - h a - M1 [x@1 a="b\]c" d="e \"q\" ] f\\"] the msg`, true,
		`pri=13 v=1 ts= host=h app=a pid= msgid=M1 msg="the msg"`)
	f(`<13>1 - - - - - -`, true, `pri=13 v=1 ts= host= app= pid= msgid= msg=""`)
	f(`<13>1 - - - - - - x`, true, `pri=13 v=1 ts= host= app= pid= msgid= msg="x"`)
	// Malformed RFC 5424: whole line, invalid.
	f(`<13>1 - h a - M1 [x@1 a="unterminated] msg`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<13>1 - h a - M1 [x@1 a=\"unterminated] msg"`)
	f(`<13>1 - h a - M1 nosd`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<13>1 - h a - M1 nosd"`)
	f(`<13>1 - h a`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<13>1 - h a"`)
	f(`<13>1 - h a - M1 -x`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<13>1 - h a - M1 -x"`)

	// RFC 3164, as util-linux logger --rfc3164 sends it.
	f(`<13>Nov 23 22:54:02 vm app3: msg three`, true,
		`pri=13 v=0 ts=Nov 23 22:54:02 host=vm app=app3 pid= msgid= msg="msg three"`)
	f(`<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8`, true,
		`pri=34 v=0 ts=Oct 11 22:14:15 host=mymachine app=su pid= msgid= msg="'su root' failed for lonvick on /dev/pts/8"`)
	f(`<30>Nov  3 01:02:03 web1 sshd[1234]: Failed password for root`, true,
		`pri=30 v=0 ts=Nov  3 01:02:03 host=web1 app=sshd pid=1234 msgid= msg="Failed password for root"`)
	// No HOSTNAME (a local sender), fractions, a year, RFC 3339 (rsyslog).
	f(`<30>Nov  3 01:02:03 sshd[1234]: Failed password`, true,
		`pri=30 v=0 ts=Nov  3 01:02:03 host= app=sshd pid=1234 msgid= msg="Failed password"`)
	f(`<30>Nov  3 01:02:03 cron: job done`, true,
		`pri=30 v=0 ts=Nov  3 01:02:03 host= app=cron pid= msgid= msg="job done"`)
	f(`<30>Nov  3 01:02:03.123 2026 h app[7] x`, true,
		`pri=30 v=0 ts=Nov  3 01:02:03.123 2026 host=h app=app pid=7 msgid= msg="x"`)
	f(`<30>2026-11-23T22:54:02.447923+00:00 h kernel: oops`, true,
		`pri=30 v=0 ts=2026-11-23T22:54:02.447923+00:00 host=h app=kernel pid= msgid= msg="oops"`)
	// No TAG: the rest is the message.
	f(`<13>Nov 23 22:54:02 vm just some text`, true,
		`pri=13 v=0 ts=Nov 23 22:54:02 host=vm app= pid= msgid= msg="just some text"`)
	f(`<13>hello world`, true, `pri=13 v=0 ts= host= app= pid= msgid= msg="hello world"`)
	f(`<13>app: hello`, true, `pri=13 v=0 ts= host= app=app pid= msgid= msg="hello"`)
	f(`<13>`, true, `pri=13 v=0 ts= host= app= pid= msgid= msg=""`)
	f(`<13>Nox 23 22:54:02 vm x: y`, true, `pri=13 v=0 ts= host= app= pid= msgid= msg="Nox 23 22:54:02 vm x: y"`)
	f(`<13>a[12 3]: x`, true, `pri=13 v=0 ts= host= app= pid= msgid= msg="a[12 3]: x"`)

	// No PRI at all: whole line, invalid.
	f(``, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg=""`)
	f(`plain line`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="plain line"`)
	f(`<>x`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<>x"`)
	f(`<192>x`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<192>x"`)
	f(`<1234>x`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<1234>x"`)
	f(`<13`, false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="<13"`)
	f("\xff\xfe<13>x", false, `pri=-1 v=0 ts= host= app= pid= msgid= msg="\xff\xfe<13>x"`)
}

func TestSyslogParseNoAlloc(t *testing.T) {
	in := []byte(`<13>1 2026-11-23T22:44:01.053809+00:00 vm myapp 42 - [timeQuality tzKnown="1" isSynced="0"] hello world`)
	in3164 := []byte(`<30>Nov  3 01:02:03 web1 sshd[1234]: Failed password for root`)
	var m syslogMsg
	if n := testing.AllocsPerRun(100, func() { syslogParse(in, &m); syslogParse(in3164, &m) }); n != 0 {
		t.Fatalf("syslogParse allocates %v times", n)
	}
}

func FuzzSyslog(f *testing.F) {
	for _, s := range []string{
		`<13>1 2026-11-23T22:44:01.053809+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] hello world`,
		`<13>1 - h a - M1 [x@1 a="b\]c" d="e \"q\" ] f\\"] the msg`,
		`<30>Nov  3 01:02:03 web1 sshd[1234]: Failed password for root`,
		`<30>2026-11-23T22:54:02.447923+00:00 h kernel: oops`,
		`<13>`, `plain`, "<13>1 - - - - - [a \\",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		if got, want := syslogSDLen(in), syslogSDLenRef(in); got != want {
			t.Fatalf("syslogSDLen(%q) = %d, the byte loop says %d", in, got, want)
		}
		var m syslogMsg
		ok := syslogParse(in, &m)
		within := func(name string, s []byte) {
			if len(s) == 0 {
				return
			}
			// Every field aliases the input.
			if !bytes.Contains(in, s) {
				t.Fatalf("%s %q is not in the input %q", name, s, in)
			}
		}
		within("msg", m.Msg)
		within("host", m.Host)
		within("app", m.App)
		within("ts", m.Timestamp)
		if !ok && !bytes.Equal(m.Msg, in) {
			t.Fatalf("malformed %q passed on as %q, not whole", in, m.Msg)
		}
		if ok && (m.Pri < 0 || m.Pri > 191) {
			t.Fatalf("valid %q with PRI %d", in, m.Pri)
		}
		if len(m.Msg) > 0 && &m.Msg[len(m.Msg)-1] != &in[len(in)-1] {
			t.Fatalf("msg %q of %q does not run to the end of the input", m.Msg, in)
		}
	})
}

// syslogSDLenRef is syslogSDLen without its fast path: a plain byte loop.
func syslogSDLenRef(b []byte) int {
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
		quoted, done := false, false
		for ; i < len(b) && !done; i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				quoted = !quoted
			case ']':
				done = !quoted
			}
		}
		if !done {
			return -1
		}
	}
	if i == 0 {
		return -1
	}
	return i
}

func TestSyslogSDLen(t *testing.T) {
	f := func(in string, want int) {
		t.Helper()
		if got := syslogSDLen([]byte(in)); got != want {
			t.Fatalf("syslogSDLen(%q) = %d, want %d", in, got, want)
		}
		if got := syslogSDLenRef([]byte(in)); got != want {
			t.Fatalf("syslogSDLenRef(%q) = %d, want %d", in, got, want)
		}
	}
	f("", -1)
	f("-", 1)
	f("- msg", 1)
	f("-x", -1)
	f("x", -1)
	f("[a]", 3)
	f("[a][b] msg", 6)
	f(`[a x="1" y="2"] m`, 15)
	f(`[a x="]"] m`, 9)
	f(`[a x="\""] m`, 10)
	f(`[a x="\]"] m`, 10)
	f(`[a x="\\"] m`, 10)
	f(`[a x="]`, -1)
	f(`[a x="\`, -1)
	f(`[a`, -1)
}

func BenchmarkSyslogParse(b *testing.B) {
	for _, bc := range []struct{ name, msg string }{
		{"rfc5424", `<165>1 2026-11-23T22:44:01.053809+00:00 web-17.prod.example.com nginx 8710 ACCESS [timeQuality tzKnown="1" isSynced="1"][meta@32473 req="a1b2c3" path="/api/v1/orders"] 10.0.0.12 - - "GET /api/v1/orders?id=42 HTTP/1.1" 200 512 "-" "curl/8.5.0"`},
		{"rfc3164", `<30>Nov  3 01:02:03 web-17 sshd[1234]: Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.msg)
			var m syslogMsg
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				syslogParse(in, &m)
			}
		})
	}
}
