package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tinywatcher/tinywatcher/config"
)

// syslogStart runs a listener on 127.0.0.1, a free port, and returns it
// once bound.
func syslogStart(t testing.TB, mod func(*config.Stream), opt Options) (*syslogListener, *tcpCollector, func()) {
	t.Helper()
	cfg := config.Stream{Name: "syslog", Type: "tcp", Listen: true, URL: "127.0.0.1:0"}
	if mod != nil {
		mod(&cfg)
	}
	src, _ := tcpDial(t, cfg.URL, func(c *config.Stream) { *c = cfg }, opt)
	l := src.(*syslogListener)
	col := &tcpCollector{}
	stop := tcpRun(t, l, col)
	<-l.ready
	if l.tcpLn == nil && l.udpLn == nil {
		t.Fatal("listener did not bind")
	}
	return l, col, stop
}

func syslogPort(l *syslogListener) string {
	if l.tcpLn != nil {
		return strconv.Itoa(l.tcpLn.(*net.TCPAddr).Port)
	}
	return strconv.Itoa(l.udpLn.(*net.UDPAddr).Port)
}

func syslogConnect(t testing.TB, l *syslogListener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.tcpLn.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tcpWaitLine waits for a line with text and returns it with its Meta.
func tcpWaitLine(t testing.TB, c *tcpCollector, text string) tcpLine {
	t.Helper()
	var got tcpLine
	tcpWait(t, fmt.Sprintf("line %q", text), func() bool {
		for _, l := range c.snapshot() {
			if l.Line == text {
				got = l
				return true
			}
		}
		return false
	})
	return got
}

// TestSyslogLogger sends with util-linux logger, the real thing, over TCP
// with both framings and over UDP, in both formats.
func TestSyslogLogger(t *testing.T) {
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("logger (util-linux, Debian package bsdutils) is not installed")
	}
	l, col, _ := syslogStart(t, func(c *config.Stream) { c.Protocol = "both" }, Options{})
	port := syslogPort(l)
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("logger", append([]string{"-n", "127.0.0.1", "-P", port}, args...)...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger %q: %v: %s", args, err, out)
		}
	}
	run("", "--tcp", "-t", "app-nl", "hello newline framing")
	run("", "--tcp", "--octet-count", "-t", "app-oc", "hello octet counting")
	run("", "--tcp", "--octet-count", "--rfc5424", "--msgid", "M1", "--sd-id", "x@1", "--sd-param", `a="b\]c"`, "-t", "app-sd", "hello structured data")
	run("", "--tcp", "--rfc3164", "-t", "app-bsd", "hello bsd")
	run("", "--tcp", "--octet-count", "--rfc3164", "-t", "app-bsdoc", "hello bsd octet")
	run("", "--udp", "-t", "app-udp", "hello udp")
	run("", "--udp", "--rfc3164", "-t", "app-udpbsd", "hello udp bsd")
	run("line one\nline two\n", "--tcp", "--octet-count", "-t", "app-stdin")

	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	for _, w := range []struct{ msg, app string }{
		{"hello newline framing", "app-nl"},
		{"hello octet counting", "app-oc"},
		{"hello structured data", "app-sd"},
		{"hello bsd", "app-bsd"},
		{"hello bsd octet", "app-bsdoc"},
		{"hello udp", "app-udp"},
		{"hello udp bsd", "app-udpbsd"},
		{"line one", "app-stdin"},
		{"line two", "app-stdin"},
	} {
		got := tcpWaitLine(t, col, w.msg)
		if got.Meta.App != w.app || got.Meta.Host == "" {
			t.Errorf("%q arrived with %+v, want app %q and a host", w.msg, got.Meta, w.app)
		}
		if h, _, _ := strings.Cut(got.Meta.Host, "."); h != host {
			t.Logf("%q: host %q, this machine is %q", w.msg, got.Meta.Host, host)
		}
	}
	if n := l.stats.Invalid.Load(); n != 0 {
		t.Fatalf("Invalid = %d, want 0", n)
	}
}

func TestSyslogFraming(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		l, col, stop := syslogStart(t, func(c *config.Stream) {}, Options{MaxLine: 64})
		// Whole, then one byte per write; one connection after the other,
		// since the order of lines from different connections is not
		// defined.
		for k, step := range []int{len(in), 1} {
			c := syslogConnect(t, l)
			for i := 0; i < len(in); i += step {
				if _, err := c.Write([]byte(in[i:min(i+step, len(in))])); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			tcpWait(t, fmt.Sprintf("%d lines", len(want)), func() bool { return len(col.snapshot()) >= (k+1)*len(want) })
		}
		want = append(want, want...)
		stop()
		var got []string
		for _, line := range col.snapshot() {
			got = append(got, line.Meta.App+"|"+line.Line)
		}
		if !equalStrings(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
	m5424 := func(app, msg string) string { return "<13>1 2026-11-23T22:44:01Z h " + app + " - - - " + msg }
	octet := func(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }
	// Newline framing: LF, CRLF, NUL as trailer.
	f(m5424("a", "one")+"\n"+m5424("b", "two")+"\r\n"+m5424("c", "three")+"\x00", "a|one", "b|two", "c|three")
	// A message left unfinished at close is passed on.
	f(m5424("a", "one")+"\n"+m5424("b", "cut"), "a|one", "b|cut")
	// Octet counting, a stack trace in one message.
	f(octet(m5424("j", "Exc\n\tat a.B(C:1)\n"))+octet(m5424("k", "next")),
		"j|Exc \tat a.B(C:1)", "k|next")
	// A zero length is dropped.
	f(octet(m5424("k", "before zero"))+"0 "+octet(m5424("k", "after zero")), "k|before zero", "k|after zero")
	// A first byte that is not 1-9 means newline framing.
	f("0 "+m5424("k", "zero first")+"\n", "|0 "+m5424("k", "zero first"))
	// Over-long: 64 bytes kept, the next message intact (newline and octet).
	long := strings.Repeat("x", 100)
	f(m5424("a", long)+"\n"+m5424("b", "ok")+"\n", "a|"+strings.Repeat("x", 64-len(m5424("a", ""))), "b|ok")
	f(octet(m5424("a", long))+octet(m5424("b", "ok")), "a|"+strings.Repeat("x", 64-len(m5424("a", ""))), "b|ok")
	// A broken length prefix: newline framing for the rest.
	f(octet(m5424("a", "good"))+"12x "+m5424("b", "resync")+"\n"+m5424("c", "after")+"\n",
		"a|good", "|12x "+m5424("b", "resync"), "c|after")
	// Not syslog at all: passed on whole.
	f("plain text line\n", "|plain text line")
}

func TestSyslogStats(t *testing.T) {
	l, col, stop := syslogStart(t, nil, Options{MaxLine: 64})
	c := syslogConnect(t, l)
	fmt.Fprint(c, "plain\n<13>1 - h a - - - ok\n"+strings.Repeat("y", 200)+"\n<13>1 - h a - - [bad msg\n")
	c.Close()
	c2 := syslogConnect(t, l)
	fmt.Fprint(c2, "30 <13>1 - h a - - - cut short")
	c2.Close()
	tcpWaitText(t, col, "cut short")
	stop()
	// plain, the over-long line (no PRI), the bad SD, the cut frame.
	if n := l.stats.Invalid.Load(); n != 4 {
		t.Errorf("Invalid = %d, want 4", n)
	}
	if n := l.stats.Oversized.Load(); n != 1 {
		t.Errorf("Oversized = %d, want 1", n)
	}
	if n := l.stats.Lines.Load(); n != 5 {
		t.Errorf("Lines = %d, want 5", n)
	}
}

// TestSyslogSendersDoNotInterleave writes two long messages a piece at a
// time from two connections, alternating.
func TestSyslogSendersDoNotInterleave(t *testing.T) {
	l, col, _ := syslogStart(t, nil, Options{})
	a, b := syslogConnect(t, l), syslogConnect(t, l)
	msgA := "<13>1 - ha appa - - - " + strings.Repeat("a", 5000)
	msgB := "<13>1 - hb appb - - - " + strings.Repeat("b", 5000)
	frameB := strconv.Itoa(len(msgB)) + " " + msgB
	for i := 0; i < 5100; i += 100 {
		if i < len(msgA) {
			a.Write([]byte(msgA[i:min(i+100, len(msgA))]))
		}
		if i < len(frameB) {
			b.Write([]byte(frameB[i:min(i+100, len(frameB))]))
		}
		time.Sleep(time.Millisecond) // let the listener read each piece apart
	}
	a.Write([]byte("\n"))
	ga := tcpWaitLine(t, col, strings.Repeat("a", 5000))
	gb := tcpWaitLine(t, col, strings.Repeat("b", 5000))
	if ga.Meta != (Meta{Host: "ha", App: "appa"}) || gb.Meta != (Meta{Host: "hb", App: "appb"}) {
		t.Fatalf("metas %+v %+v", ga.Meta, gb.Meta)
	}
	if n := len(col.snapshot()); n != 2 {
		t.Fatalf("got %d lines, want 2", n)
	}
}

// TestSyslogTrickler: a sender trickling bytes holds no more than its one
// line bound, blocks no other sender, and is dropped after idle_timeout
// once it stops.
func TestSyslogTrickler(t *testing.T) {
	l, col, _ := syslogStart(t, func(c *config.Stream) {
		c.IdleTimeout = config.Duration(300 * time.Millisecond)
	}, Options{MaxLine: 64})
	slow := syslogConnect(t, l)
	stopTrickle := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		msg := "<13>1 - slowhost slowapp - - - " + strings.Repeat("s", 200)
		for i := range len(msg) {
			select {
			case <-stopTrickle:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{msg[i]}); err != nil {
				return
			}
		}
	}()
	fast := syslogConnect(t, l)
	for i := range 100 {
		fmt.Fprintf(fast, "<13>1 - fasthost fastapp - - - fast %d\n", i)
	}
	tcpWaitText(t, col, "fast 99")
	select {
	case <-trickled:
		t.Log("the trickler finished before the fast sender; the test proves less")
	default:
	}
	// The trickler's message is cut at the bound when it passes it.
	tcpWait(t, "the trickler's cut message", func() bool { return l.stats.Oversized.Load() == 1 })
	<-trickled
	close(stopTrickle)
	// Silent now: the listener drops it.
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := slow.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Fatalf("idle trickler not dropped: %v", err)
	}
	for _, line := range col.snapshot() {
		if line.Meta.App == "slowapp" && len(line.Line) > 64 {
			t.Fatalf("trickler line of %d bytes", len(line.Line))
		}
	}
}

// TestSyslogManyConnections connects 2000 times in quick succession, then
// checks the connection bound, and that shutdown closes live connections
// and every goroutine returns.
func TestSyslogManyConnections(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	l, col, stop := syslogStart(t, nil, Options{})
	var wg sync.WaitGroup
	const n = 2000
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.Dial("tcp", l.tcpLn.String())
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(c, "<13>1 - h%d app - - - conn %d\n", i%7, i)
			c.Close()
		}()
	}
	wg.Wait()
	tcpWait(t, "2000 messages", func() bool { return len(col.snapshot()) == n })
	tcpWait(t, "connections to be released", func() bool {
		l.connsMu.Lock()
		defer l.connsMu.Unlock()
		return len(l.conns) == 0
	})
	seen := make(map[string]bool)
	for _, line := range col.snapshot() {
		var i int
		fmt.Sscanf(line.Line, "conn %d", &i)
		if line.Meta.Host != fmt.Sprintf("h%d", i%7) {
			t.Fatalf("%q with host %q", line.Line, line.Meta.Host)
		}
		seen[line.Line] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}

	// The bound: beyond maxConns live connections, the excess is refused.
	l.connsMu.Lock()
	l.maxConns = 20
	l.connsMu.Unlock()
	var live []net.Conn
	for range 20 {
		c := syslogConnect(t, l)
		fmt.Fprint(c, "<13>1 - h app - - - live\n")
		live = append(live, c)
	}
	tcpWait(t, "20 live connections", func() bool {
		l.connsMu.Lock()
		defer l.connsMu.Unlock()
		return len(l.conns) == 20
	})
	for range 5 {
		c := syslogConnect(t, l)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("connection over the bound: read %v, want EOF", err)
		}
	}
	if e := l.stats.Errors.Load(); e != 5 {
		t.Fatalf("Errors = %d, want 5 refused", e)
	}
	// Shutdown closes the live connections.
	stop()
	for _, c := range live {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		// A close with bytes still unread in the server's buffer is a
		// reset rather than a FIN: either way the server closed it.
		if _, err := c.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("live connection after shutdown: read %v, want EOF or a reset", err)
		}
	}
	runtime.GC()
}

// TestSyslogManyMetas interleaves more hosts and apps than there are
// framers on one connection: every line keeps its Meta, and the lines of
// each host keep their order.
func TestSyslogManyMetas(t *testing.T) {
	l, col, _ := syslogStart(t, nil, Options{})
	c := syslogConnect(t, l)
	var in bytes.Buffer
	const n = 3000
	for i := range n {
		fmt.Fprintf(&in, "<13>1 - host%d app%d - - - %d %d\n", i%20, i%3, i%20, i)
	}
	c.Write(in.Bytes())
	tcpWait(t, "all lines", func() bool { return len(col.snapshot()) == n })
	last := make(map[string]int)
	for _, line := range col.snapshot() {
		var h, i int
		fmt.Sscanf(line.Line, "%d %d", &h, &i)
		if want := (Meta{Host: fmt.Sprintf("host%d", i%20), App: fmt.Sprintf("app%d", i%3)}); line.Meta != want {
			t.Fatalf("%q has %+v, want %+v", line.Line, line.Meta, want)
		}
		if p, ok := last[line.Meta.Host]; ok && p >= i {
			t.Fatalf("%q after %d from the same host", line.Line, p)
		}
		last[line.Meta.Host] = i
	}
}

// TestSyslogHugeMessages sends 10 MiB messages, newline-framed and
// octet-counted: each is cut to the bound and the next one is intact.
func TestSyslogHugeMessages(t *testing.T) {
	l, col, _ := syslogStart(t, nil, Options{})
	huge := "<13>1 - h big - - - " + strings.Repeat("z", 10<<20)
	a := syslogConnect(t, l)
	go func() {
		a.Write([]byte(huge + "\n<13>1 - h a - - - after newline huge\n"))
	}()
	b := syslogConnect(t, l)
	go func() {
		fmt.Fprintf(b, "%d %s", len(huge), huge)
		fmt.Fprint(b, "29 <13>1 - h a - - - after octet")
	}()
	tcpWaitText(t, col, "after newline huge")
	tcpWaitText(t, col, "after octet")
	for _, line := range col.snapshot() {
		if line.Meta.App == "big" && len(line.Line) != DefaultMaxLine-len("<13>1 - h big - - - ") {
			t.Fatalf("huge message passed on with %d bytes", len(line.Line))
		}
	}
	if n := l.stats.Oversized.Load(); n != 2 {
		t.Fatalf("Oversized = %d, want 2", n)
	}
	if n := len(col.snapshot()); n != 4 {
		t.Fatalf("%d lines, want 4", n)
	}
}

func TestSyslogTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := tcpTestCert(t, dir)
	l, col, _ := syslogStart(t, func(c *config.Stream) {
		c.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile}
	}, Options{})
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c, err := tls.Dial("tcp", l.tcpLn.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "<13>1 - tlshost tlsapp - - - over tls"
	fmt.Fprintf(c, "%d %s", len(msg), msg)
	got := tcpWaitLine(t, col, "over tls")
	if got.Meta != (Meta{Host: "tlshost", App: "tlsapp"}) {
		t.Fatalf("meta %+v", got.Meta)
	}
	// A client speaking plain TCP to it fails the handshake, counted.
	p := syslogConnect(t, l)
	fmt.Fprint(p, "<13>1 - h a - - - plain\n")
	tcpWait(t, "a failed handshake", func() bool { return l.stats.Errors.Load() == 1 })

	// With ca_file, clients must present a certificate it signed.
	lm, colM, _ := syslogStart(t, func(c *config.Stream) {
		c.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: certFile}
	}, Options{})
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := tls.Dial("tcp", lm.tcpLn.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	fmt.Fprint(cm, "<13>1 - h a - - - mutual\n")
	tcpWaitText(t, colM, "mutual")
	anon, err := tls.Dial("tcp", lm.tcpLn.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err == nil {
		// TLS 1.3 reports the missing certificate on the first read.
		anon.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = anon.Read(make([]byte, 1))
		anon.Close()
	}
	if err == nil || os.IsTimeout(err) {
		t.Fatalf("a client without a certificate: %v", err)
	}
	tcpWait(t, "the refused handshake", func() bool { return lm.stats.Errors.Load() == 1 })
}

func TestSyslogUDP(t *testing.T) {
	l, col, _ := syslogStart(t, func(c *config.Stream) { c.Protocol = "udp" }, Options{})
	if l.tcpLn != nil {
		t.Fatal("protocol udp listens on tcp")
	}
	c, err := net.Dial("udp", l.udpLn.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One datagram, one message: its newlines become spaces.
	c.Write([]byte("<13>1 - uhost uapp - - - first\nsecond\n"))
	c.Write([]byte("<13>Nov  3 01:02:03 sshd[12]: no host in this one"))
	got := tcpWaitLine(t, col, "first second")
	if got.Meta != (Meta{Host: "uhost", App: "uapp"}) {
		t.Fatalf("meta %+v", got.Meta)
	}
	got = tcpWaitLine(t, col, "no host in this one")
	if got.Meta != (Meta{Host: "127.0.0.1", App: "sshd"}) {
		t.Fatalf("meta %+v, want the sender's address as host", got.Meta)
	}
}

func TestSyslogListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src, _ := tcpDial(t, ln.Addr().String(), func(c *config.Stream) { c.Listen = true }, Options{})
	if err := src.Run(context.Background(), &tcpCollector{}); err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("Run on a taken port: %v", err)
	}
}

// BenchmarkSyslogOctetIngest measures the listener: one loopback sender
// writes octet-counted RFC 5424 messages, parsed into MSG lines with host
// and app, into a counting emitter. "one-app" is a host sending for one
// app; "mixed" alternates three hosts (a relay), so every message changes
// the Meta: each of them fills its own framer's blocks.
func BenchmarkSyslogOctetIngest(b *testing.B) {
	b.Run("one-app", func(b *testing.B) { syslogBenchIngest(b, true, 1) })
	b.Run("mixed", func(b *testing.B) { syslogBenchIngest(b, true, 3) })
}

// BenchmarkSyslogNewlineIngest is BenchmarkSyslogOctetIngest with newline
// framing, as `logger --tcp` sends by default.
func BenchmarkSyslogNewlineIngest(b *testing.B) {
	b.Run("one-app", func(b *testing.B) { syslogBenchIngest(b, false, 1) })
}

func syslogBenchIngest(b *testing.B, octet bool, hosts int) {
	lines := bytes.Split(bytes.TrimSuffix(tcpLogStream(1<<20), []byte("\n")), []byte("\n"))
	var chunk bytes.Buffer
	var msgBytes int64
	for i, line := range lines {
		hdr := fmt.Sprintf("<14>1 2026-11-23T22:44:01.%06dZ web-%d.example.com api %d - [meta@32473 req=\"r%d\"] ", i, i%hosts, 1000+i%5, i)
		if octet {
			fmt.Fprintf(&chunk, "%d %s%s", len(hdr)+len(line), hdr, line)
		} else {
			fmt.Fprintf(&chunk, "%s%s\n", hdr, line)
		}
		msgBytes += int64(len(line) + 1)
	}
	l, _, _ := syslogStart(b, nil, Options{})
	cnt := &tcpCounter{want: int64(b.N) * msgBytes, done: make(chan struct{})}
	// Swap the collector for the counter before anything arrives.
	l.mu.Lock()
	l.frs.out = cnt
	l.mu.Unlock()
	c := syslogConnect(b, l)
	b.SetBytes(int64(chunk.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := c.Write(chunk.Bytes()); err != nil {
				return
			}
		}
	}()
	<-cnt.done
	b.StopTimer()
	b.ReportMetric(float64(cnt.lines.Load())/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cnt.bytes.Load())/float64(cnt.blocks.Load()), "B/block")
}

func TestSyslogIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	l, col, _ := syslogStart(t, func(c *config.Stream) { c.URL = "[::1]:0"; c.Protocol = "both" }, Options{})
	c := syslogConnect(t, l)
	fmt.Fprint(c, "<13>Nov  3 01:02:03 app6: over tcp6\n")
	u, err := net.Dial("udp", l.udpLn.String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("<13>Nov  3 01:02:03 app6: over udp6"))
	for _, msg := range []string{"over tcp6", "over udp6"} {
		if got := tcpWaitLine(t, col, msg); got.Meta != (Meta{Host: "::1", App: "app6"}) {
			t.Fatalf("%q: meta %+v", msg, got.Meta)
		}
	}
}

// syslogFeedAll frames stream as one TCP connection would deliver it, in
// reads of step bytes, without sockets, and returns the lines with their
// Meta and the listener's counters.
func syslogFeedAll(t testing.TB, stream []byte, step, maxLine int) ([]tcpLine, [3]uint64) {
	t.Helper()
	l, err := newSyslogListener(config.Stream{Listen: true, URL: ":0"}, Options{MaxLine: maxLine, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	col := &tcpCollector{}
	l.frs = syslogFramers{out: col, maxLine: l.maxLine, stats: l.stats}
	sc := &syslogConn{l: l, peer: "peer", op: octetParser{max: l.maxLine}}
	buf := make([]byte, step)
	for i := 0; i < len(stream); i += step {
		// The connection reads into its own buffer, which feed may modify.
		n := copy(buf, stream[i:min(i+step, len(stream))])
		if err := sc.feed(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.end(); err != nil {
		t.Fatal(err)
	}
	if err := l.frs.end(); err != nil {
		t.Fatal(err)
	}
	l.frs.close()
	return col.snapshot(), [3]uint64{l.stats.Invalid.Load(), l.stats.Oversized.Load(), l.stats.Lines.Load()}
}

// FuzzSyslogConn checks that framing a connection does not depend on how
// its bytes arrive, and that no line passes the bound.
func FuzzSyslogConn(f *testing.F) {
	for _, s := range []string{
		"<13>1 - h a - - - one\n<13>Nov  3 01:02:03 h b: two\r\n<13>x\x00",
		"29 <13>1 - h a - - - after octet0 12x foo\nbar",
		"5 hello3 abc\n\n",
		"\n\n\x003 abc",
		"plain\nlines\nno syslog",
		"100 <13>1 - h a - - - " + strings.Repeat("y", 200),
	} {
		f.Add([]byte(s), uint8(3), uint8(40))
	}
	// Found by fuzzing: a '\r' just past the bound.
	f.Add([]byte("000000000000000\r\x00"), uint8(3), uint8(71))
	f.Fuzz(func(t *testing.T, in []byte, step, maxLine uint8) {
		if len(in) > 4096 {
			return
		}
		ml := int(maxLine%64) + 8
		whole, ws := syslogFeedAll(t, in, max(len(in), 1), ml)
		parts, ps := syslogFeedAll(t, in, int(step%16)+1, ml)
		if ws != ps || len(whole) != len(parts) {
			t.Fatalf("whole: %q %v\nparts: %q %v", whole, ws, parts, ps)
		}
		for i := range whole {
			if whole[i] != parts[i] {
				t.Fatalf("whole: %q\nparts: %q", whole, parts)
			}
			if len(whole[i].Line) > ml {
				t.Fatalf("line of %d bytes over the bound %d", len(whole[i].Line), ml)
			}
		}
	})
}
