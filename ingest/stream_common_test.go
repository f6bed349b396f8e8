package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/tinywatcher/tinywatcher/config"
)

// streamTestEmitter copies every line it receives and returns blocks to
// the pool.
type streamTestEmitter struct {
	mu     sync.Mutex
	lines  []string
	blocks int
	notify chan struct{}
}

func newStreamTestEmitter() *streamTestEmitter {
	return &streamTestEmitter{notify: make(chan struct{}, 1)}
}

func (e *streamTestEmitter) Emit(b *Block) error {
	if b.Lines != bytes.Count(b.B, []byte{'\n'}) || (len(b.B) > 0 && b.B[len(b.B)-1] != '\n') {
		panic(fmt.Sprintf("bad block: %d lines in %q", b.Lines, b.B))
	}
	e.mu.Lock()
	for _, l := range strings.SplitAfter(string(b.B), "\n") {
		if l != "" {
			e.lines = append(e.lines, strings.TrimSuffix(l, "\n"))
		}
	}
	e.blocks++
	e.mu.Unlock()
	PutBlock(b)
	select {
	case e.notify <- struct{}{}:
	default:
	}
	return nil
}

func (e *streamTestEmitter) Lines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.lines...)
}

// waitFor waits until cond holds for the lines received, failing the test
// after a generous timeout (the condition is what is asserted, not time).
func (e *streamTestEmitter) waitFor(t testing.TB, what string, cond func(lines []string) bool) []string {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		l := e.Lines()
		if cond(l) {
			return l
		}
		select {
		case <-e.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline.C:
			l = e.Lines()
			if len(l) > 20 {
				l = l[len(l)-20:]
			}
			t.Fatalf("timed out waiting for %s; last lines: %q", what, l)
		}
	}
}

func streamWaitLines(t testing.TB, e *streamTestEmitter, n int) []string {
	t.Helper()
	return e.waitFor(t, fmt.Sprintf("%d lines", n), func(l []string) bool { return len(l) >= n })
}

// streamTestRun runs src until the returned stop function is called; stop
// cancels, waits for Run and checks it returned nil.
func streamTestRun(t testing.TB, src Source, out Emitter) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, out) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// streamLeakCheck fails the test if goroutines started during it are
// still running at its end (after the cleanups registered later).
func streamLeakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// streamTestCfg is a stream config with fast reconnects for tests.
func streamTestCfg(typ, u string) config.Stream {
	return config.Stream{
		Name:           typ + "-test",
		Type:           typ,
		URL:            u,
		ReconnectDelay: config.Duration(20 * time.Millisecond),
		IdleTimeout:    config.Duration(5 * time.Second),
	}
}

// streamTestServer is an HTTP server on a fixed loopback port that can be
// killed (listener and every connection closed at once) and started again
// on the same port.
type streamTestServer struct {
	t     testing.TB
	addr  string
	mu    sync.Mutex
	srv   *http.Server
	conns []net.Conn // hijacked connections (WebSocket), closed by kill
}

// track registers a hijacked connection for kill to close.
func (s *streamTestServer) track(c net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func newStreamTestServer(t testing.TB, h http.Handler) *streamTestServer {
	t.Helper()
	s := &streamTestServer{t: t, addr: "127.0.0.1:0"}
	s.start(h)
	t.Cleanup(s.kill)
	return s
}

func (s *streamTestServer) start(h http.Handler) {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("cannot listen on %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: h, ErrorLog: nil}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the listener and every connection, as a crash would.
func (s *streamTestServer) kill() {
	s.mu.Lock()
	srv, conns := s.srv, s.conns
	s.srv, s.conns = nil, nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

func (s *streamTestServer) url(scheme, path string) string {
	return scheme + "://" + s.addr + path
}

// streamTestLogger returns a logger writing into a buffer the test can
// read, and that buffer.
func streamTestLogger() (*slog.Logger, *streamLockedBuffer) {
	b := new(streamLockedBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

type streamLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *streamLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *streamLockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestStreamRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := func(v string, want time.Duration) {
		t.Helper()
		if got := streamRetryAfter(v, now); got != want {
			t.Fatalf("streamRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	f("", 0)
	f("0", 0)
	f("-3", 0)
	f(" 7 ", 7*time.Second)
	f("120", 2*time.Minute)
	f("99999999999", streamMaxRetryAfter)
	f("soon", 0)
	f("Fri, 02 Jan 2026 03:04:35 GMT", 30*time.Second)
	f("Fri, 02 Jan 2026 03:00:00 GMT", 0)
	f("Friday, 02-Jan-26 03:05:05 GMT", time.Minute)
	f("Fri Jan  2 03:04:15 2026", 10*time.Second)
}

func TestStreamLines(t *testing.T) {
	f := func(in string, max, chunk int, want ...string) {
		t.Helper()
		s := streamLines{max: max}
		var got []string
		fn := func(l []byte) error { got = append(got, string(l)); return nil }
		b := []byte(in)
		for len(b) > 0 {
			n := min(chunk, len(b))
			if err := s.write(b[:n], fn); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
		if p := s.pending(); len(p) > 0 {
			got = append(got, "partial:"+string(p))
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%q max %d chunk %d: got %q, want %q", in, max, chunk, got, want)
		}
	}
	for _, chunk := range []int{1, 3, 100} {
		f("", 10, chunk)
		f("\n", 10, chunk, "")
		f("a\nb\n", 10, chunk, "a", "b")
		f("a\nbc", 10, chunk, "a", "partial:bc")
		f("0123456789abc\nx\n", 5, chunk, "01234", "x")
		f("0123456789abc", 5, chunk, "partial:01234")
	}
}

func TestStreamInvalidLines(t *testing.T) {
	f := func(in string, want uint64) {
		t.Helper()
		if got := streamInvalidLines([]byte(in)); got != want {
			t.Fatalf("streamInvalidLines(%q) = %d, want %d", in, got, want)
		}
	}
	f("", 0)
	f("ok\nfine ünïcode\n", 0)
	f("bad \xff\nok\nnul \x00\n", 2)
	f("\xe2\x82\n\xac\n", 2) // a rune cut by a newline is invalid on both sides
}

func TestStreamAzureBanner(t *testing.T) {
	f := func(line string, want bool) {
		t.Helper()
		if got := streamAzureBanner([]byte(line)); got != want {
			t.Fatalf("streamAzureBanner(%q) = %v, want %v", line, got, want)
		}
	}
	f("2024-01-25T20:44:58  Welcome, you are now connected to log-streaming service. The default timeout is 2 hours. Change the timeout with the App Setting SCM_LOGSTREAM_TIMEOUT (in seconds). ", true)
	f("Welcome, you are now connected to log-streaming service.", true)
	f("2022-05-13T08:29:13  No new trace in the past 1 min(s).", true)
	f("2025-11-21T17:06:10.736Z No new trace in the past 12 min(s).", true)
	f("2025-11-21T17:06:10.736Z No new trace in the past 12 min(s).\r", true)
	f("No new trace in the past 3 min(s).", true)
	// Narrow: anything else is a log line.
	f("", false)
	f("ERROR Welcome, you are now connected to log-streaming service.", false)
	f("2022-05-13T08:29:13  No new trace in the past 1 min(s). ERROR disk full", false)
	f("2022-05-13T08:29:13  No new trace in the past few min(s).", false)
	f("user said: No new trace in the past 1 min(s).", false)
	f("2022-05-13T08:29:46.549Z INFO  - Pulling image: mcr.microsoft.com/azure-app-service/java", false)
	f("Ending Log Tail of existing logs ---", false)
}

func TestStreamIsAzureLogStream(t *testing.T) {
	f := func(u string, want bool) {
		t.Helper()
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := streamIsAzureLogStream(pu); got != want {
			t.Fatalf("streamIsAzureLogStream(%q) = %v, want %v", u, got, want)
		}
	}
	f("wss://myapp.scm.azurewebsites.net/api/logstream/application", true)
	f("https://MyApp.SCM.azurewebsites.net/api/logstream", true)
	f("https://myapp.scm.azurewebsites.net/logstream/http", true)
	f("https://myapp.azurewebsites.net/api/logstream", false)
	f("https://myapp.scm.azurewebsites.net/api/vfs/", false)
	f("https://example.com/api/logstream", false)
}

func TestStreamRunnerFatal(t *testing.T) {
	r := newStreamRunner("x", streamTestCfg("http", "http://127.0.0.1:1/"), slog.New(slog.DiscardHandler), new(Stats))
	boom := errors.New("pipeline closed")
	err := r.run(context.Background(), func(context.Context) streamResult { return streamResult{fatal: boom} })
	if !errors.Is(err, boom) {
		t.Fatalf("run = %v, want %v", err, boom)
	}
}

// TestStreamRunnerBackoff: failures grow the delay; a connection the
// server ended cleanly after sending data resets it.
func TestStreamRunnerBackoff(t *testing.T) {
	cfg := streamTestCfg("http", "http://x/")
	cfg.ReconnectDelay = config.Duration(time.Microsecond)
	stats := new(Stats)
	r := newStreamRunner("x", cfg, slog.New(slog.DiscardHandler), stats)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts []int
	results := []streamResult{
		{err: errors.New("refused")},
		{err: errors.New("refused")},
		{connected: time.Now(), err: errors.New("reset")}, // broke: still failing
		{connected: time.Now()},                           // clean end with data: healthy
		{connected: time.Now()},                           // clean end without data: not
	}
	i := 0
	err := r.run(ctx, func(context.Context) streamResult {
		attempts = append(attempts, r.bo.attempt)
		if i == len(results) {
			cancel()
			return streamResult{}
		}
		res := results[i]
		if i == 3 {
			stats.Bytes.Add(10)
		}
		i++
		return res
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(attempts) != "[0 1 2 3 1 2]" {
		t.Fatalf("backoff attempts before each connect: %v", attempts)
	}
	if stats.Errors.Load() != 3 || stats.Reconnects.Load() != 5 {
		t.Fatalf("errors %d reconnects %d", stats.Errors.Load(), stats.Reconnects.Load())
	}
}

func TestStreamName(t *testing.T) {
	f := func(cfg config.Stream, want string) {
		t.Helper()
		if got := streamName(cfg); got != want {
			t.Fatalf("streamName = %q, want %q", got, want)
		}
	}
	f(config.Stream{Name: "n", Type: "http", URL: "http://u:p@x/"}, "n")
	f(config.Stream{Type: "http", URL: "http://x/a"}, "http:http://x/a")
	f(config.Stream{Type: "websocket", URL: "wss://user:secret@x/a"}, "websocket:wss://user:xxxxx@x/a")
}

// TestStreamEmitterError: when the pipeline refuses a block, Run stops
// with the error instead of reconnecting.
func TestStreamEmitterError(t *testing.T) {
	streamLeakCheck(t)
	boom := errors.New("pipeline closed")
	refuse := EmitterFunc(func(b *Block) error { PutBlock(b); return boom })
	var srv *streamTestServer
	srv = newStreamTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
				done := wsTestDrainAsync(c)
				_ = c.WriteMessage(websocket.TextMessage, []byte("x"))
				<-done
			})(w, r)
			return
		}
		httpTestFlush(w, "x\n")
		<-r.Context().Done()
	}))
	ws, err := NewWebSocket(streamTestCfg("websocket", srv.url("ws", "/ws")), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := NewHTTP(streamTestCfg("http", srv.url("http", "/")), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{ws, hs} {
		if err := src.Run(context.Background(), refuse); !errors.Is(err, boom) {
			t.Fatalf("%s: Run = %v, want %v", src.Name(), err, boom)
		}
	}
	srv.kill()
}
