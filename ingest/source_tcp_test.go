package ingest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tinywatcher/tinywatcher/config"
)

// tcpLine is one line a test emitter received, with its block's Meta.
type tcpLine struct {
	Line string
	Meta Meta
}

// tcpCollector is a test Emitter: it copies every line and its block's Meta
// under a mutex and returns blocks to the pool.
type tcpCollector struct {
	mu     sync.Mutex
	lines  []tcpLine
	blocks int
}

func (c *tcpCollector) Emit(b *Block) error {
	c.mu.Lock()
	c.blocks++
	s := b.B
	n := 0
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			panic(fmt.Sprintf("block ends without a newline: %q", s))
		}
		c.lines = append(c.lines, tcpLine{string(s[:i]), b.Meta})
		s = s[i+1:]
		n++
	}
	c.mu.Unlock()
	if n != b.Lines {
		panic(fmt.Sprintf("block says %d lines, holds %d", b.Lines, n))
	}
	PutBlock(b)
	return nil
}

func (c *tcpCollector) snapshot() []tcpLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tcpLine(nil), c.lines...)
}

func (c *tcpCollector) texts() []string {
	var out []string
	for _, l := range c.snapshot() {
		out = append(out, l.Line)
	}
	return out
}

// tcpWait polls cond until it holds; the deadline only guards against a
// hang, it is not a latency assertion.
func tcpWait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tcpWaitLines waits until the collector holds a line for which pick
// returns true, for every one of want, in order among the picked lines.
func tcpWaitText(t testing.TB, c *tcpCollector, want ...string) {
	t.Helper()
	tcpWait(t, fmt.Sprintf("lines %q", want), func() bool {
		got := c.texts()
		j := 0
		for _, g := range got {
			if j < len(want) && g == want[j] {
				j++
			}
		}
		return j == len(want)
	})
}

// tcpRun starts src and returns a function that stops it and checks that
// Run returned nil.
func tcpRun(t testing.TB, src Source, out Emitter) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// tcpServer is a loopback server for dial-mode tests: each accepted
// connection is handed to serve, in order.
type tcpServer struct {
	ln    net.Listener
	conns chan net.Conn
}

func tcpListen(t testing.TB, addr string, tc *tls.Config) *tcpServer {
	t.Helper()
	var ln net.Listener
	var err error
	// A restarted server takes its old port back; retry while the kernel
	// still holds it.
	for range 100 {
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &tcpServer{ln: ln, conns: make(chan net.Conn, 16)}
	go func() {
		defer close(s.conns)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*tls.Conn); ok {
				// Complete (or fail) the handshake even for connections
				// the test never reads.
				go tc.Handshake() //nolint:errcheck
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() { s.close() })
	return s
}

func (s *tcpServer) close() {
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
}

func (s *tcpServer) accept(t testing.TB) net.Conn {
	t.Helper()
	select {
	case c, ok := <-s.conns:
		if !ok {
			t.Fatal("server closed")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the source to connect")
	}
	return nil
}

func tcpDial(t testing.TB, url string, mod func(*config.Stream), opt Options) (Source, *Stats) {
	t.Helper()
	cfg := config.Stream{Type: "tcp", URL: url, ReconnectDelay: config.Duration(20 * time.Millisecond)}
	if mod != nil {
		mod(&cfg)
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	src, err := NewTCP(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return src, opt.Stats
}

func TestTCPDialLinesAndBadInput(t *testing.T) {
	srv := tcpListen(t, "127.0.0.1:0", nil)
	src, stats := tcpDial(t, srv.ln.Addr().String(), nil, Options{})
	if src.Kind() != KindStream || src.Name() != "tcp:"+srv.ln.Addr().String() {
		t.Fatalf("kind %v name %q", src.Kind(), src.Name())
	}
	col := &tcpCollector{}
	tcpRun(t, src, col)
	c := srv.accept(t)

	// Lines arrive while the connection stays open: the source flushes
	// when the socket has nothing more ready.
	fmt.Fprint(c, "first\nsecond\r\n")
	tcpWaitText(t, col, "first", "second")

	huge := bytes.Repeat([]byte("0123456789abcdef"), 10<<20/16) // 10 MiB
	huge[5] = 'X'
	var in bytes.Buffer
	in.WriteString("bad utf8 \xff\xfe\xc3(\n")
	in.WriteString("nul \x00 byte\n")
	in.Write(huge)
	in.WriteString("\nafter the huge line\nlast\n")
	if _, err := c.Write(in.Bytes()); err != nil {
		t.Fatal(err)
	}
	tcpWaitText(t, col, "last")
	want := []string{"first", "second", "bad utf8 \xff\xfe\xc3(", "nul \x00 byte", string(huge[:DefaultMaxLine]), "after the huge line", "last"}
	if got := col.texts(); !equalStrings(got, want) {
		t.Fatalf("got %d lines %.200q, want %d", len(got), got, len(want))
	}
	if n := stats.Oversized.Load(); n != 1 {
		t.Fatalf("Oversized = %d, want 1", n)
	}
	if n := stats.Invalid.Load(); n != 2 {
		t.Fatalf("Invalid = %d, want 2 (bad UTF-8, NUL)", n)
	}
	if n := stats.Reconnects.Load(); n != 0 {
		t.Fatalf("Reconnects = %d, want 0", n)
	}
}

func TestTCPDialReconnectAfterRestart(t *testing.T) {
	srv := tcpListen(t, "127.0.0.1:0", nil)
	addr := srv.ln.Addr().String()
	src, stats := tcpDial(t, addr, nil, Options{})
	col := &tcpCollector{}
	tcpRun(t, src, col)

	// The first server sends some lines, dies mid-line and is restarted
	// on the same port.
	c := srv.accept(t)
	for i := range 1000 {
		fmt.Fprintf(c, "before %d\n", i)
	}
	fmt.Fprint(c, "cut in the mid")
	tcpWaitText(t, col, "before 999")
	c.Close()
	srv.close()

	srv2 := tcpListen(t, addr, nil)
	c2 := srv2.accept(t)
	var out bytes.Buffer
	for i := range 5000 {
		fmt.Fprintf(&out, "after %d\n", i)
	}
	if _, err := c2.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	tcpWaitText(t, col, "after 4999")

	// Every line sent after the restart arrived, once, in order.
	var after []string
	sawCut := false
	for _, l := range col.texts() {
		if strings.HasPrefix(l, "after ") {
			after = append(after, l)
		}
		sawCut = sawCut || l == "cut in the mid"
	}
	for i, l := range after {
		if l != fmt.Sprintf("after %d", i) {
			t.Fatalf("line %d after the restart is %q", i, l)
		}
	}
	if len(after) != 5000 {
		t.Fatalf("got %d lines after the restart, want 5000", len(after))
	}
	// The line cut by the crash is passed on, and counted.
	if !sawCut {
		t.Fatal("the unfinished line at the disconnect was lost")
	}
	if stats.Invalid.Load() != 1 || stats.Reconnects.Load() < 1 {
		t.Fatalf("Invalid = %d (want 1), Reconnects = %d (want >= 1)", stats.Invalid.Load(), stats.Reconnects.Load())
	}
}

func TestTCPDialIdleTimeout(t *testing.T) {
	srv := tcpListen(t, "127.0.0.1:0", nil)
	src, stats := tcpDial(t, srv.ln.Addr().String(), func(c *config.Stream) {
		c.IdleTimeout = config.Duration(100 * time.Millisecond)
	}, Options{})
	col := &tcpCollector{}
	tcpRun(t, src, col)

	// A server that goes silent is dropped and dialled again.
	c := srv.accept(t)
	fmt.Fprint(c, "one\n")
	c2 := srv.accept(t)
	fmt.Fprint(c2, "two\n")
	tcpWaitText(t, col, "one", "two")
	if stats.Reconnects.Load() < 1 {
		t.Fatal("the idle reconnect was not counted")
	}
}

func TestTCPDialTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := tcpTestCert(t, dir)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := tcpListen(t, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	src, _ := tcpDial(t, "tls://"+srv.ln.Addr().String(), func(c *config.Stream) {
		c.TLS = &config.TLS{CAFile: certFile}
	}, Options{})
	col := &tcpCollector{}
	tcpRun(t, src, col)
	c := srv.accept(t)
	fmt.Fprint(c, "over tls\nsecond\n")
	tcpWaitText(t, col, "over tls", "second")

	// A server that requires a client certificate gets the configured one;
	// insecure_skip_verify connects without the CA.
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pemBytes)
	mtls := tcpListen(t, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	srcM, _ := tcpDial(t, mtls.ln.Addr().String(), func(c *config.Stream) {
		c.TLS = &config.TLS{InsecureSkipVerify: true, CertFile: certFile, KeyFile: keyFile}
	}, Options{})
	colM := &tcpCollector{}
	tcpRun(t, srcM, colM)
	cm := mtls.accept(t)
	fmt.Fprint(cm, "mutual\n")
	tcpWaitText(t, colM, "mutual")
	if st := cm.(*tls.Conn).ConnectionState(); len(st.PeerCertificates) != 1 {
		t.Fatalf("the server saw %d client certificates", len(st.PeerCertificates))
	}

	// Without the CA the handshake fails and the source keeps retrying.
	src2, stats2 := tcpDial(t, srv.ln.Addr().String(), func(c *config.Stream) {
		c.TLS = &config.TLS{}
	}, Options{})
	tcpRun(t, src2, &tcpCollector{})
	tcpWait(t, "a failed handshake", func() bool { return stats2.Errors.Load() >= 1 })
}

func TestTCPDialShutdownKeepsLines(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	srv := tcpListen(t, "127.0.0.1:0", nil)
	src, _ := tcpDial(t, srv.ln.Addr().String(), nil, Options{})
	col := &tcpCollector{}
	stop := tcpRun(t, src, col)
	c := srv.accept(t)
	fmt.Fprint(c, "whole\nunfinished")
	tcpWaitText(t, col, "whole")
	stop()
	tcpWaitText(t, col, "whole", "unfinished")

	// Also while it waits to reconnect: Run returns, and leaves nothing.
	srv.close()
	src2, _ := tcpDial(t, srv.ln.Addr().String(), nil, Options{})
	stop2 := tcpRun(t, src2, col)
	tcpWait(t, "a failed connect", func() bool { return src2.(*tcpSource).stats.Reconnects.Load() > 0 })
	stop2()
	goleak.VerifyNone(t, leaks)
}

func TestNewTCPErrors(t *testing.T) {
	f := func(cfg config.Stream, want string) {
		t.Helper()
		_, err := NewTCP(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("NewTCP(%+v) = %v, want an error with %q", cfg, err, want)
		}
	}
	f(config.Stream{URL: "localhost"}, "want host:port")
	f(config.Stream{URL: ""}, "want host:port")
	f(config.Stream{URL: "localhost:514", Protocol: "udp"}, "needs listen: true")
	f(config.Stream{URL: "localhost:514", TLS: &config.TLS{CAFile: "/nonexistent"}}, "ca_file")
	f(config.Stream{Listen: true, URL: "5514"}, "want [host]:port")
	f(config.Stream{Listen: true, URL: ":5514", Protocol: "sctp"}, "want tcp, udp or both")
	f(config.Stream{Listen: true, URL: ":5514", Protocol: "udp", TLS: &config.TLS{}}, "tls needs protocol tcp")
	f(config.Stream{Listen: true, URL: ":5514", TLS: &config.TLS{}}, "cert_file and tls.key_file")
}

// tcpTestCert writes a self-signed certificate for 127.0.0.1, ::1 and
// localhost into dir and returns the PEM files.
func tcpTestCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tinywatcher test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// tcpLogStream returns about n bytes of realistic application log lines.
func tcpLogStream(n int) []byte {
	r := mrand.New(mrand.NewPCG(1, 2))
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	paths := []string{"/api/v1/orders", "/api/v1/users", "/health", "/api/v2/search", "/static/app.js"}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "2026-11-23T22:%02d:%02d.%03dZ %-5s [worker-%d] api.handler: GET %s/%d %d %.1fms user=%d trace=%016x\n",
			r.IntN(60), r.IntN(60), r.IntN(1000), levels[r.IntN(len(levels))], r.IntN(16),
			paths[r.IntN(len(paths))], r.IntN(100000), []int{200, 200, 200, 404, 500}[r.IntN(5)],
			r.Float64()*100, r.IntN(10000), r.Uint64())
	}
	return b.Bytes()
}

// tcpCounter is a benchmark Emitter: it counts and returns blocks.
type tcpCounter struct {
	bytes, lines, blocks atomic.Int64
	want                 int64
	done                 chan struct{}
}

func (c *tcpCounter) Emit(b *Block) error {
	c.lines.Add(int64(b.Lines))
	c.blocks.Add(1)
	if c.bytes.Add(int64(len(b.B))) == c.want {
		close(c.done)
	}
	PutBlock(b)
	return nil
}

// BenchmarkTCPIngest measures a dialling tcp stream: a loopback server
// writes a realistic log stream with newline framing into the source, which
// hands blocks to a counting emitter.
func BenchmarkTCPIngest(b *testing.B) {
	chunk := tcpLogStream(1 << 20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cnt := &tcpCounter{want: int64(b.N) * int64(len(chunk)), done: make(chan struct{})}
	src, _ := tcpDial(b, ln.Addr().String(), nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- src.Run(ctx, cnt) }()
	c, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	<-cnt.done
	b.StopTimer()
	b.ReportMetric(float64(cnt.lines.Load())/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(cnt.bytes.Load())/float64(cnt.blocks.Load()), "B/block")
	cancel()
	if err := <-runDone; err != nil {
		b.Fatal(err)
	}
}
