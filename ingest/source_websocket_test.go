package ingest

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/tinywatcher/tinywatcher/config"
)

var wsTestUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// wsTestHandler upgrades and hands the connection to serve, tracking it so
// the server's kill closes it.
func wsTestHandler(s **streamTestServer, serve func(c *websocket.Conn, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := wsTestUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		(*s).track(c.NetConn())
		defer c.Close()
		serve(c, r)
	}
}

// wsTestDrain reads (and so answers pings) until the connection fails.
func wsTestDrain(c *websocket.Conn) {
	for {
		if _, _, err := c.NextReader(); err != nil {
			return
		}
	}
}

// wsTestDrainAsync drains in the background; the channel is closed when
// the connection failed (a hijacked request's context is never done).
func wsTestDrainAsync(c *websocket.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wsTestDrain(c)
	}()
	return done
}

func newWSTestSource(t *testing.T, cfg config.Stream) *WebSocket {
	t.Helper()
	log, _ := streamTestLogger()
	w, err := NewWebSocket(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebSocketMessages(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	gotAuth := make(chan string, 1)
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		gotAuth <- r.Header.Get("Authorization")
		done := wsTestDrainAsync(c)
		send := func(typ int, s string) {
			if err := c.WriteMessage(typ, []byte(s)); err != nil {
				t.Errorf("write: %v", err)
			}
		}
		send(websocket.TextMessage, "one")
		send(websocket.TextMessage, "two\nthree\n")
		_ = c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		send(websocket.BinaryMessage, "four\nfive")
		send(websocket.TextMessage, "")
		send(websocket.TextMessage, "\n")
		send(websocket.TextMessage, "bad \xff\xfe utf8\nnul \x00 byte")
		send(websocket.TextMessage, "crlf\r\nlast")
		<-done
	}))
	cfg := streamTestCfg("websocket", srv.url("ws", "/logs"))
	cfg.Headers = map[string]string{"Authorization": "Bearer T0K3N"}
	w := newWSTestSource(t, cfg)
	if w.Kind() != KindStream || w.Name() != "websocket-test" {
		t.Fatalf("Kind, Name = %v, %q", w.Kind(), w.Name())
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	want := []string{"one", "two", "three", "four", "five", "", "bad \xff\xfe utf8", "nul \x00 byte", "crlf", "last"}
	got := streamWaitLines(t, e, len(want))
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if a := <-gotAuth; a != "Bearer T0K3N" {
		t.Fatalf("Authorization = %q", a)
	}
	stop()
	srv.kill()
	st := w.Stats()
	if st.Lines.Load() != uint64(len(want)) || st.Invalid.Load() != 2 || st.Reconnects.Load() != 0 {
		t.Fatalf("lines %d invalid %d reconnects %d", st.Lines.Load(), st.Invalid.Load(), st.Reconnects.Load())
	}
}

// TestWebSocketRestart kills the server mid-stream and starts it again on
// the same port: what the first server sent arrives as an unbroken prefix,
// and every message the second one sent arrives once, in order.
func TestWebSocketRestart(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		wsTestDrainAsync(c)
		for i := 0; ; i++ {
			// Two lines per message, the last without a newline.
			if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "p1 %d a\np1 %d b", i, i)); err != nil {
				return
			}
		}
	}))
	w := newWSTestSource(t, streamTestCfg("websocket", srv.url("ws", "/")))
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 200)
	srv.kill()

	const n = 1000
	srv.start(wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		done := wsTestDrainAsync(c)
		for i := 0; i < n; i++ {
			if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "p2 %d a\np2 %d b\n", i, i)); err != nil {
				return
			}
		}
		<-done
	}))
	lines := e.waitFor(t, "the second server's messages", func(l []string) bool {
		return len(l) > 0 && l[len(l)-1] == fmt.Sprintf("p2 %d b", n-1)
	})
	stop()
	var p1, p2 []string
	for _, l := range lines {
		if strings.HasPrefix(l, "p1 ") {
			if len(p2) > 0 {
				t.Fatalf("p1 line %q after p2 lines", l)
			}
			p1 = append(p1, l)
		} else {
			p2 = append(p2, l)
		}
	}
	for i, l := range p1 {
		if want := fmt.Sprintf("p1 %d %c", i/2, "ab"[i%2]); l != want {
			t.Fatalf("p1 line %d = %q, want %q", i, l, want)
		}
	}
	if len(p2) != 2*n {
		t.Fatalf("%d p2 lines, want %d", len(p2), 2*n)
	}
	for i, l := range p2 {
		if want := fmt.Sprintf("p2 %d %c", i/2, "ab"[i%2]); l != want {
			t.Fatalf("p2 line %d = %q, want %q", i, l, want)
		}
	}
	if r := w.Stats().Reconnects.Load(); r < 1 {
		t.Fatalf("Reconnects = %d, want >= 1", r)
	}
	srv.kill()
}

// TestWebSocketOversized: a 10 MiB line is cut by the framer, a message
// over the message bound is dropped past the bound; both counted, and the
// source carries on.
func TestWebSocketOversized(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		done := wsTestDrainAsync(c)
		big := strings.Repeat("x", 10<<20)
		_ = c.WriteMessage(websocket.TextMessage, []byte("before"))
		_ = c.WriteMessage(websocket.TextMessage, []byte("L "+big+"\nafter line"))
		// 1 MiB of short lines, then an 11 MiB line: over the 11 MiB bound.
		huge := strings.Repeat("0123456789abcde\n", (1<<20)/16) + strings.Repeat("y", 11<<20)
		_ = c.WriteMessage(websocket.BinaryMessage, []byte(huge))
		_ = c.WriteMessage(websocket.TextMessage, []byte("after message"))
		<-done
	}))
	w := newWSTestSource(t, streamTestCfg("websocket", srv.url("ws", "/")))
	w.maxMessage = 11 << 20
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	lines := e.waitFor(t, "the line after the messages", func(l []string) bool {
		return len(l) > 0 && l[len(l)-1] == "after message"
	})
	stop()
	srv.kill()
	if lines[0] != "before" || len(lines[1]) != DefaultMaxLine || !strings.HasPrefix(lines[1], "L xxx") || lines[2] != "after line" {
		t.Fatalf("unexpected first lines (lengths %d %d %d)", len(lines[0]), len(lines[1]), len(lines[2]))
	}
	// The big message keeps its short lines and the start of its long line.
	if got := len(lines) - 4; got != (1<<20)/16+1 {
		t.Fatalf("%d lines kept of the big message, want %d", got, (1<<20)/16+1)
	}
	if y := lines[len(lines)-2]; len(y) != DefaultMaxLine || strings.Trim(y, "y") != "" {
		t.Fatalf("the long line of the big message has %d bytes", len(y))
	}
	// The 10 MiB line, the 10 MiB start of the 11 MiB line, and the message.
	if o := w.Stats().Oversized.Load(); o != 3 {
		t.Fatalf("Oversized = %d, want 3", o)
	}
	if r := w.Stats().Reconnects.Load(); r != 0 {
		t.Fatalf("Reconnects = %d, want 0", r)
	}
}

// TestWebSocketIdleTimeout: a server that goes silent and stops answering
// pings is left after the idle timeout, and the next connection works.
func TestWebSocketIdleTimeout(t *testing.T) {
	streamLeakCheck(t)
	var conns atomic.Int32
	var srv *streamTestServer
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		n := conns.Add(1)
		_ = c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "conn %d", n))
		// Neither answering pings nor writing, until the connection closes.
		_, _ = io.Copy(io.Discard, c.NetConn())
	}))
	cfg := streamTestCfg("websocket", srv.url("ws", "/"))
	cfg.IdleTimeout = config.Duration(200 * time.Millisecond)
	w := newWSTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 2)
	stop()
	srv.kill()
	if l := e.Lines(); l[0] != "conn 1" || l[1] != "conn 2" {
		t.Fatalf("lines %q", l)
	}
	if r := w.Stats().Reconnects.Load(); r < 1 {
		t.Fatalf("Reconnects = %d", r)
	}
}

// TestWebSocketKeepalive: a quiet server that answers pings keeps the
// connection past several idle timeouts.
func TestWebSocketKeepalive(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	release := make(chan struct{})
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		done := wsTestDrainAsync(c)
		_ = c.WriteMessage(websocket.TextMessage, []byte("hello"))
		select {
		case <-release:
		case <-done:
		}
		_ = c.WriteMessage(websocket.TextMessage, []byte("still here"))
		<-done
	}))
	cfg := streamTestCfg("websocket", srv.url("ws", "/"))
	cfg.IdleTimeout = config.Duration(time.Second)
	w := newWSTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 1)
	time.Sleep(2500 * time.Millisecond)
	close(release)
	streamWaitLines(t, e, 2)
	stop()
	srv.kill()
	if r := w.Stats().Reconnects.Load(); r != 0 {
		t.Fatalf("Reconnects = %d, want 0: pongs must keep the connection", r)
	}
}

// TestWebSocketHandshakeError: a refused upgrade is logged with its status
// and body, counted, and retried (Retry-After honoured).
func TestWebSocketHandshakeError(t *testing.T) {
	streamLeakCheck(t)
	var calls atomic.Int32
	var srv *streamTestServer
	ok := wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		_ = c.WriteMessage(websocket.TextMessage, []byte("finally"))
		wsTestDrain(c)
	})
	srv = newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "down for maintenance "+strings.Repeat("z", 2000), http.StatusServiceUnavailable)
			return
		}
		ok(w, r)
	}))
	log, buf := streamTestLogger()
	w, err := NewWebSocket(streamTestCfg("websocket", srv.url("ws", "/")), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.dialer.HandshakeTimeout = 5 * time.Second
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 1)
	stop()
	srv.kill()
	if e := w.Stats().Errors.Load(); e != 2 {
		t.Fatalf("Errors = %d, want 2", e)
	}
	out := buf.String()
	if !strings.Contains(out, "status 503") || !strings.Contains(out, "down for maintenance") || strings.Contains(out, strings.Repeat("z", 600)) {
		t.Fatalf("log does not quote status and a bounded body:\n%.2000s", out)
	}
}

// TestWebSocketCancel: cancelling closes a quiet connection promptly.
func TestWebSocketCancel(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	closed := make(chan error, 1)
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		_ = c.WriteMessage(websocket.TextMessage, []byte("x"))
		_, _, err := c.NextReader()
		closed <- err
	}))
	w := newWSTestSource(t, streamTestCfg("websocket", srv.url("ws", "/")))
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 1)
	stop()
	if err := <-closed; !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("server saw %v, want a normal close frame", err)
	}
	srv.kill()
}

// TestWebSocketCancelWhileConnecting: cancel while the server never
// answers the upgrade.
func TestWebSocketCancelWhileConnecting(t *testing.T) {
	streamLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	w := newWSTestSource(t, streamTestCfg("websocket", "ws://"+ln.Addr().String()+"/"))
	stop := streamTestRun(t, w, newStreamTestEmitter())
	c := <-accepted
	defer c.Close()
	stop()
}

func TestWebSocketTLS(t *testing.T) {
	streamLeakCheck(t)
	var mu sync.Mutex
	var conns []net.Conn
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsTestUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte("secure\nlines"))
		wsTestDrain(c)
	}))
	ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}
	ts.StartTLS()
	defer func() {
		ts.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := streamTestCfg("websocket", strings.Replace(ts.URL, "https://", "wss://", 1))
	cfg.TLS = &config.TLS{CAFile: ca}
	w := newWSTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	if got := streamWaitLines(t, e, 2); got[0] != "secure" || got[1] != "lines" {
		t.Fatalf("got %q", got)
	}
	stop()
	// Without the CA the handshake fails and is retried.
	cfg.TLS = nil
	w = newWSTestSource(t, cfg)
	stop = streamTestRun(t, w, newStreamTestEmitter())
	for i := 0; w.Stats().Errors.Load() == 0; i++ {
		if i == 2000 {
			t.Fatal("no handshake error counted without the CA")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
}

func TestWebSocketAzureFilter(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		done := wsTestDrainAsync(c)
		_ = c.WriteMessage(websocket.TextMessage, []byte("2024-01-25T20:44:58  Welcome, you are now connected to log-streaming service. The default timeout is 2 hours.\r\n"))
		_ = c.WriteMessage(websocket.TextMessage, []byte("2024-01-25T20:45:01.123 [Error] boom\n2024-01-25T20:46:58  No new trace in the past 1 min(s).\r\n2024-01-25T20:47:00 ok"))
		<-done
	}))
	w := newWSTestSource(t, streamTestCfg("websocket", srv.url("ws", "/api/logstream")))
	w.azure = true // the URL of the real service does not resolve here
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	got := streamWaitLines(t, e, 2)
	stop()
	srv.kill()
	if strings.Join(got, "|") != "2024-01-25T20:45:01.123 [Error] boom|2024-01-25T20:47:00 ok" || w.Heartbeats() != 2 {
		t.Fatalf("got %q, %d heartbeats", got, w.Heartbeats())
	}
}

func TestNewWebSocketErrors(t *testing.T) {
	f := func(cfg config.Stream, want string) {
		t.Helper()
		_, err := NewWebSocket(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("NewWebSocket(%q) = %v, want error with %q", cfg.URL, err, want)
		}
	}
	f(config.Stream{URL: "http://x/"}, "ws:// or wss://")
	f(config.Stream{URL: "ws:///path"}, "no host")
	f(config.Stream{URL: "ws://x/%zz"}, "cannot parse")
	f(config.Stream{URL: "wss://x/", TLS: &config.TLS{CAFile: "/nonexistent/ca.pem"}}, "ca_file")
	f(config.Stream{URL: "wss://x/", TLS: &config.TLS{CertFile: "c.pem"}}, "together")
}

// TestWebSocketWebsocketd runs Debian's websocketd as an independent
// server: each line a program prints becomes a message.
func TestWebSocketWebsocketd(t *testing.T) {
	bin, err := exec.LookPath("websocketd")
	if err != nil {
		t.Skip("websocketd not installed (apt-get install -y websocketd); skipping the independent-server test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--address=127.0.0.1", "--port="+strconv.Itoa(port),
		"sh", "-c", `printf 'alpha\nbeta\n'; printf 'bad \377 byte\n'; sleep 30`)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	w := newWSTestSource(t, streamTestCfg("websocket", fmt.Sprintf("ws://127.0.0.1:%d/", port)))
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e) // reconnects until websocketd listens
	got := streamWaitLines(t, e, 3)
	stop()
	if got[0] != "alpha" || got[1] != "beta" || !strings.HasPrefix(got[2], "bad ") {
		t.Fatalf("got %q", got)
	}
}

// streamCountEmitter counts lines and returns blocks at once; done is
// closed when want lines arrived.
type streamCountEmitter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (e *streamCountEmitter) Emit(b *Block) error {
	if e.n.Add(int64(b.Lines)) == e.want {
		close(e.done)
	}
	PutBlock(b)
	return nil
}

// BenchmarkWebSocketIngest: a loopback server writes b.N small text
// messages (pre-encoded frames, so the server costs little) and the source
// frames them; reports messages per second.
func BenchmarkWebSocketIngest(b *testing.B) {
	msg := []byte("2026-01-02T03:04:05.123Z INFO svc=api req=123456 path=/v1/items status=200 took=12ms")
	frame := append([]byte{0x81, byte(len(msg))}, msg...)
	chunk := make([]byte, 0, 64<<10)
	for len(chunk)+len(frame) <= cap(chunk) {
		chunk = append(chunk, frame...)
	}
	perChunk := len(chunk) / len(frame)
	start := make(chan struct{})
	connected := make(chan struct{}, 1)
	var srv *streamTestServer
	srv = newStreamTestServer(b, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		connected <- struct{}{}
		<-start
		nc := c.NetConn()
		for left := b.N; left > 0; {
			k := min(left, perChunk)
			if _, err := nc.Write(chunk[:k*len(frame)]); err != nil {
				return
			}
			left -= k
		}
		_, _ = io.Copy(io.Discard, nc)
	}))
	log, _ := streamTestLogger()
	w, err := NewWebSocket(streamTestCfg("websocket", srv.url("ws", "/")), Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	e := &streamCountEmitter{want: int64(b.N), done: make(chan struct{})}
	stop := streamTestRun(b, w, e)
	<-connected
	b.SetBytes(int64(len(msg) + 1))
	b.ReportAllocs()
	b.ResetTimer()
	close(start)
	<-e.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	stop()
	srv.kill()
}

// TestWebSocketUserinfo: credentials in the URL become basic auth (a
// WebSocket URL may not carry them) and stay out of the name.
func TestWebSocketUserinfo(t *testing.T) {
	streamLeakCheck(t)
	var srv *streamTestServer
	auth := make(chan string, 1)
	srv = newStreamTestServer(t, wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth <- u + ":" + p
		_ = c.WriteMessage(websocket.TextMessage, []byte("in"))
		wsTestDrain(c)
	}))
	cfg := streamTestCfg("websocket", "ws://deploy%24app:s3cr%40t@"+srv.addr+"/api/logstream")
	cfg.Name = ""
	w := newWSTestSource(t, cfg)
	if strings.Contains(w.Name(), "s3cr") {
		t.Fatalf("name %q shows the password", w.Name())
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, 1)
	stop()
	srv.kill()
	if a := <-auth; a != "deploy$app:s3cr@t" {
		t.Fatalf("basic auth %q", a)
	}
}
