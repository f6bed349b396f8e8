package ingest

import (
	"bufio"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

func newHTTPTestSource(t testing.TB, cfg config.Stream) (*HTTP, *streamLockedBuffer) {
	t.Helper()
	log, buf := streamTestLogger()
	h, err := NewHTTP(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, buf
}

func httpTestFlush(w http.ResponseWriter, s string) bool {
	if _, err := io.WriteString(w, s); err != nil {
		return false
	}
	w.(http.Flusher).Flush()
	return true
}

func TestHTTPChunked(t *testing.T) {
	streamLeakCheck(t)
	var calls atomic.Int32
	reqs := make(chan string, 4)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- fmt.Sprintf("%s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Api-Key"), body)
		if calls.Add(1) == 1 {
			httpTestFlush(w, "alpha\nbr")
			httpTestFlush(w, "avo\r\ncharlie\n")
			for i := 0; i < 100; i++ {
				httpTestFlush(w, fmt.Sprintf("line %d\n", i))
			}
			httpTestFlush(w, "unfinished at a clean end")
			return // a clean end: the source reconnects
		}
		httpTestFlush(w, "second response\n")
		<-r.Context().Done()
	}))
	cfg := streamTestCfg("http", srv.url("http", "/logs?x=1"))
	cfg.Method = "post"
	cfg.Body = "query"
	cfg.Headers = map[string]string{"X-Api-Key": "k3y"}
	h, _ := newHTTPTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 105)
	stop()
	srv.kill()
	want := []string{"alpha", "bravo", "charlie"}
	for i := 0; i < 100; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	want = append(want, "unfinished at a clean end", "second response")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if r := <-reqs; r != "POST /logs?x=1 k3y query" {
		t.Fatalf("request %q", r)
	}
	if r := h.Stats().Reconnects.Load(); r != 1 {
		t.Fatalf("Reconnects = %d, want 1", r)
	}
	if e := h.Stats().Errors.Load(); e != 0 {
		t.Fatalf("Errors = %d, want 0: a clean end is no error", e)
	}
}

// sseTestEvent writes event i of the test stream: two data lines, an id,
// an event type, and CRLF line ends on odd events.
func sseTestEvent(i int) string {
	s := fmt.Sprintf("id: %d\nevent: log\ndata: ev %d line 1\ndata: ev %d line 2\n\n", i, i, i)
	if i%2 == 1 {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return s
}

// TestHTTPSSEResume kills an SSE server in the middle of an event and
// starts it again: the source resumes with Last-Event-ID, the server
// replays from there, and no line is missing or repeated.
func TestHTTPSSEResume(t *testing.T) {
	streamLeakCheck(t)
	const n = 60
	lastIDs := make(chan string, 8)
	handler := func(phase int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			lastIDs <- r.Header.Get("Last-Event-ID")
			start := 1
			if id := r.Header.Get("Last-Event-ID"); id != "" {
				v, err := strconv.Atoi(id)
				if err != nil {
					t.Errorf("Last-Event-ID %q", id)
				}
				start = v + 1
			}
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			// retry: the configured hour-long delay must give way to it.
			httpTestFlush(w, "\xEF\xBB\xBFretry: 10\n: hello\n\n")
			for i := start; i <= n; i++ {
				if phase == 1 && i == 21 {
					httpTestFlush(w, "id: 21\ndata: ev 21 line 1\n") // half an event
					<-r.Context().Done()
					return
				}
				if !httpTestFlush(w, sseTestEvent(i)+": keepalive\r\n") {
					return
				}
			}
			<-r.Context().Done()
		}
	}
	srv := newStreamTestServer(t, handler(1))
	cfg := streamTestCfg("http", srv.url("http", "/events"))
	cfg.ReconnectDelay = config.Duration(time.Hour)
	h, _ := newHTTPTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	streamWaitLines(t, e, 40)
	srv.kill()
	srv.start(handler(2))
	got := streamWaitLines(t, e, 2*n)
	stop()
	srv.kill()
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("ev %d line 1", i), fmt.Sprintf("ev %d line 2", i))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if id := <-lastIDs; id != "" {
		t.Fatalf("first Last-Event-ID = %q, want none", id)
	}
	if id := <-lastIDs; id != "20" {
		t.Fatalf("Last-Event-ID on reconnect = %q, want 20", id)
	}
}

// TestHTTPNon2xx: error answers are logged with status and body start,
// counted, and retried.
func TestHTTPNon2xx(t *testing.T) {
	streamLeakCheck(t)
	var calls atomic.Int32
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "over capacity "+strings.Repeat("q", 4000), http.StatusServiceUnavailable)
		case 2:
			http.Error(w, "who are you", http.StatusUnauthorized)
		default:
			httpTestFlush(w, "finally\n")
			<-r.Context().Done()
		}
	}))
	h, log := newHTTPTestSource(t, streamTestCfg("http", srv.url("http", "/")))
	h.logEvery = time.Nanosecond // log every failure
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	streamWaitLines(t, e, 1)
	stop()
	srv.kill()
	if n := h.Stats().Errors.Load(); n != 2 {
		t.Fatalf("Errors = %d, want 2", n)
	}
	out := log.String()
	for _, want := range []string{"status 503", "over capacity", "status 401", "who are you", "stream connected again", "after_failures=2"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%.3000s", want, out)
		}
	}
	if strings.Contains(out, strings.Repeat("q", 600)) {
		t.Fatalf("log quotes more than %d bytes of the body", streamSnippet)
	}
}

// TestHTTPTrickle: a server sending one byte at a time, slower than
// nothing but faster than the idle timeout, keeps its connection.
func TestHTTPTrickle(t *testing.T) {
	streamLeakCheck(t)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range []byte("slow line\nx") {
			if !httpTestFlush(w, string(c)) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		httpTestFlush(w, "\ndone\n")
		<-r.Context().Done()
	}))
	cfg := streamTestCfg("http", srv.url("http", "/"))
	cfg.IdleTimeout = config.Duration(time.Second)
	h, _ := newHTTPTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 3)
	stop()
	srv.kill()
	if strings.Join(got, "|") != "slow line|x|done" || h.Stats().Reconnects.Load() != 0 {
		t.Fatalf("got %q, %d reconnects", got, h.Stats().Reconnects.Load())
	}
}

// TestHTTPIdleTimeout: a server that stops sending is left after the idle
// timeout; its unfinished line is dropped; the next connection works.
func TestHTTPIdleTimeout(t *testing.T) {
	streamLeakCheck(t)
	var calls atomic.Int32
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		httpTestFlush(w, fmt.Sprintf("conn %d\nhalf a li", n))
		<-r.Context().Done()
	}))
	cfg := streamTestCfg("http", srv.url("http", "/"))
	cfg.IdleTimeout = config.Duration(200 * time.Millisecond)
	h, log := newHTTPTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 2)
	stop()
	srv.kill()
	if got[0] != "conn 1" || got[1] != "conn 2" {
		t.Fatalf("got %q", got)
	}
	if !strings.Contains(log.String(), "idle_timeout") {
		t.Fatalf("log does not name the idle timeout:\n%s", log.String())
	}
}

func TestHTTPHugeLineAndBadBytes(t *testing.T) {
	streamLeakCheck(t)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpTestFlush(w, "before\n")
		httpTestFlush(w, strings.Repeat("x", 10<<20)+"\n")
		httpTestFlush(w, "bad \xff\xfe utf8\nnul \x00 byte\nafter\n")
		<-r.Context().Done()
	}))
	h, _ := newHTTPTestSource(t, streamTestCfg("http", srv.url("http", "/")))
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 5)
	stop()
	srv.kill()
	if got[0] != "before" || len(got[1]) != DefaultMaxLine || got[2] != "bad \xff\xfe utf8" || got[3] != "nul \x00 byte" || got[4] != "after" {
		t.Fatalf("unexpected lines (second has %d bytes)", len(got[1]))
	}
	st := h.Stats()
	if st.Oversized.Load() != 1 || st.Invalid.Load() != 2 || st.Reconnects.Load() != 0 {
		t.Fatalf("oversized %d invalid %d reconnects %d", st.Oversized.Load(), st.Invalid.Load(), st.Reconnects.Load())
	}
}

// TestHTTPCancelWaitingForHeaders: cancel while a server accepted the
// connection but never answers.
func TestHTTPCancelWaitingForHeaders(t *testing.T) {
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
	h, _ := newHTTPTestSource(t, streamTestCfg("http", "http://"+ln.Addr().String()+"/"))
	stop := streamTestRun(t, h, newStreamTestEmitter())
	c := <-accepted
	defer c.Close()
	stop()
}

func TestHTTPAzureFilter(t *testing.T) {
	streamLeakCheck(t)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpTestFlush(w, "2024-01-25T20:44:58  Welcome, you are now connected to log-streaming service. The default timeout is 2 hours.\r\n")
		httpTestFlush(w, "2024-01-25T20:45:01.123 [Error] boom\r\n2024-01-25T20:46:58  No new trace in the past 1 min(s).\r\n")
		httpTestFlush(w, "2024-01-25T20:47:58  No new trace in the past 2 min(s).\r\n2024-01-25T20:48:00 ok\r\n")
		<-r.Context().Done()
	}))
	h, _ := newHTTPTestSource(t, streamTestCfg("http", srv.url("http", "/api/logstream")))
	h.azure = true // the URL of the real service does not resolve here
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 2)
	stop()
	srv.kill()
	if strings.Join(got, "|") != "2024-01-25T20:45:01.123 [Error] boom|2024-01-25T20:48:00 ok" || h.Heartbeats() != 3 {
		t.Fatalf("got %q, %d heartbeats", got, h.Heartbeats())
	}
}

func TestHTTPTLS(t *testing.T) {
	streamLeakCheck(t)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpTestFlush(w, "secure\n")
		<-r.Context().Done()
	}))
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := streamTestCfg("http", ts.URL+"/")
	cfg.TLS = &config.TLS{CAFile: ca}
	h, _ := newHTTPTestSource(t, cfg)
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	if got := streamWaitLines(t, e, 1); got[0] != "secure" {
		t.Fatalf("got %q", got)
	}
	stop()
	ts.CloseClientConnections()
}

func TestNewHTTPErrors(t *testing.T) {
	f := func(cfg config.Stream, want string) {
		t.Helper()
		_, err := NewHTTP(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("NewHTTP(%q) = %v, want error with %q", cfg.URL, err, want)
		}
	}
	f(config.Stream{URL: "ws://x/"}, "http:// or https://")
	f(config.Stream{URL: "http:///x"}, "no host")
	f(config.Stream{URL: "http://x/", Method: "GET X"}, "bad method")
	f(config.Stream{URL: "https://x/", TLS: &config.TLS{CAFile: "/nonexistent"}}, "ca_file")
	h, err := NewHTTP(config.Stream{Type: "http", URL: "https://[::1]/a/api/v1/namespaces/x/pods/y/log"}, Options{})
	if err != nil || h.hc.Addr != "[::1]:443" || h.method != "GET" || h.Name() != "http:https://[::1]/a/api/v1/namespaces/x/pods/y/log" || h.k8s {
		t.Fatalf("NewHTTP = %+v, %v", h, err)
	}
}

// BenchmarkHTTPChunkedIngest: a loopback server writes b.N lines as a
// chunked body in 32 KiB writes; the source frames them. Reports MB/s of
// lines.
func BenchmarkHTTPChunkedIngest(b *testing.B) {
	line := "2026-01-02T03:04:05.123Z INFO svc=api req=123456 path=/v1/items status=200 took=12ms\n"
	chunk := strings.Repeat(line, (32<<10)/len(line))
	perChunk := len(chunk) / len(line)
	start := make(chan struct{})
	srv := newStreamTestServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpTestFlush(w, "ready\n")
		<-start
		for left := b.N; left > 0; {
			k := min(left, perChunk)
			if !httpTestFlush(w, chunk[:k*len(line)]) {
				return
			}
			left -= k
		}
		<-r.Context().Done()
	}))
	h, _ := newHTTPTestSource(b, streamTestCfg("http", srv.url("http", "/")))
	e := &streamCountEmitter{want: int64(b.N) + 1, done: make(chan struct{})}
	stop := streamTestRun(b, h, e)
	for e.n.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	close(start)
	<-e.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	stop()
	srv.kill()
}

func TestHTTPUserinfo(t *testing.T) {
	streamLeakCheck(t)
	auth := make(chan string, 1)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth <- u + ":" + p
		httpTestFlush(w, "in\n")
		<-r.Context().Done()
	}))
	cfg := streamTestCfg("http", "http://deploy%24app:s3cr%40t@"+srv.addr+"/api/logstream")
	cfg.Name = ""
	h, _ := newHTTPTestSource(t, cfg)
	if strings.Contains(h.Name(), "s3cr") {
		t.Fatalf("name %q shows the password", h.Name())
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	streamWaitLines(t, e, 1)
	stop()
	srv.kill()
	if a := <-auth; a != "deploy$app:s3cr@t" {
		t.Fatalf("basic auth %q", a)
	}
}

// httpTestProxy is a CONNECT proxy on loopback that sends every tunnel to
// backend, whatever the target; it answers 407 without the right
// Proxy-Authorization.
func httpTestProxy(t *testing.T, backend string, targets chan<- string) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				targets <- req.Method + " " + req.Host
				if req.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("px:pw")) {
					io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
					return
				}
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go func() {
					io.Copy(b, br)
					b.Close()
				}()
				io.Copy(c, b)
			}()
		}
	}()
	return ln
}

func TestHTTPProxy(t *testing.T) {
	streamLeakCheck(t)
	srv := newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpTestFlush(w, "through "+r.Host+"\n")
		<-r.Context().Done()
	}))
	targets := make(chan string, 8)
	ln := httpTestProxy(t, srv.addr, targets)
	defer ln.Close()
	h, log := newHTTPTestSource(t, streamTestCfg("http", "http://logs.example.invalid/stream"))
	h.logEvery = time.Nanosecond
	proxyURL := "http://bad:creds@" + ln.Addr().String()
	var mu sync.Mutex
	h.proxy = func(u *url.URL) (*url.URL, error) {
		mu.Lock()
		defer mu.Unlock()
		pu, err := url.Parse(proxyURL)
		proxyURL = "http://px:pw@" + ln.Addr().String() // right from the second try
		return pu, err
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	got := streamWaitLines(t, e, 1)
	stop()
	srv.kill()
	if got[0] != "through logs.example.invalid" {
		t.Fatalf("got %q", got)
	}
	if a, b := <-targets, <-targets; a != "CONNECT logs.example.invalid:80" || b != a {
		t.Fatalf("proxy saw %q, %q", a, b)
	}
	if !strings.Contains(log.String(), "407") {
		t.Fatalf("refused CONNECT not logged:\n%s", log.String())
	}
}

// TestHTTPBodyUntilClose: a body without length nor chunking, ended by
// closing the connection (HTTP/1.0 style), streams as it arrives.
func TestHTTPBodyUntilClose(t *testing.T) {
	streamLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst\nsec")
				if i == 0 {
					<-release
				}
				io.WriteString(c, "ond\nlast without newline")
			}()
		}
	}()
	h, _ := newHTTPTestSource(t, streamTestCfg("http", "http://"+ln.Addr().String()+"/"))
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	streamWaitLines(t, e, 1) // "first" arrives before the body ends
	close(release)
	got := streamWaitLines(t, e, 4)
	stop()
	if strings.Join(got[:4], "|") != "first|second|last without newline|first" {
		t.Fatalf("got %q", got)
	}
}

// BenchmarkHTTPSSEIngest: a loopback server writes b.N one-line events
// with ids as text/event-stream; reports events per second.
func BenchmarkHTTPSSEIngest(b *testing.B) {
	var chunk strings.Builder
	perChunk := 0
	for chunk.Len() < 32<<10 {
		fmt.Fprintf(&chunk, "id: %d\ndata: 2026-01-02T03:04:05.123Z INFO svc=api req=123456 path=/v1/items status=200\n\n", 1000000+perChunk)
		perChunk++
	}
	ev := chunk.String()
	evLen := len(ev) / perChunk
	start := make(chan struct{})
	srv := newStreamTestServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		httpTestFlush(w, "data: ready\n\n")
		<-start
		for left := b.N; left > 0; {
			k := min(left, perChunk)
			if !httpTestFlush(w, ev[:k*evLen]) {
				return
			}
			left -= k
		}
		<-r.Context().Done()
	}))
	h, _ := newHTTPTestSource(b, streamTestCfg("http", srv.url("http", "/")))
	e := &streamCountEmitter{want: int64(b.N) + 1, done: make(chan struct{})}
	stop := streamTestRun(b, h, e)
	for e.n.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(int64(evLen))
	b.ReportAllocs()
	b.ResetTimer()
	close(start)
	<-e.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	stop()
	srv.kill()
}
