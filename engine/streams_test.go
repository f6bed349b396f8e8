package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

// restartableServer serves handler on a fixed loopback port that survives
// a stop and start, so a client's reconnects find the new server.
type restartableServer struct {
	t       *testing.T
	addr    string
	handler http.Handler
	srv     *http.Server
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

func newRestartableServer(t *testing.T, h http.Handler) *restartableServer {
	s := &restartableServer{t: t, handler: h, conns: map[net.Conn]bool{}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *restartableServer) start() {
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ConnState: func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.conns[c] = true
		case http.StateClosed, http.StateHijacked:
			if st == http.StateClosed {
				delete(s.conns, c)
			}
		}
	}}
	go s.srv.Serve(ln)
}

// stop kills the server and every connection, hijacked ones included, as
// a crash would.
func (s *restartableServer) stop() {
	s.srv.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
		delete(s.conns, c)
	}
	s.mu.Unlock()
}

// seqLog is what every stream test server sends: numbered lines, one in
// ten of them matching the rule.
func seqLine(i int) string {
	if i%10 == 0 {
		return fmt.Sprintf("ERROR OperationalError: timeout seq=%d", i)
	}
	return fmt.Sprintf("INFO fine seq=%d", i)
}

var seqRe = regexp.MustCompile(`seq=(\d+)`)

// seqDest records the sequence numbers of the lines alerted.
type seqDest struct {
	mu   sync.Mutex
	seen map[int]int
}

func (d *seqDest) Send(_ context.Context, batch []sink.Alert) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range batch {
		if m := seqRe.FindStringSubmatch(a.Line); m != nil {
			n, _ := strconv.Atoi(m[1])
			d.seen[n]++
		}
	}
	return nil
}

func (d *seqDest) count(from, to int) (got, dup int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := from; i < to; i += 10 {
		if d.seen[i] > 0 {
			got++
		}
		if d.seen[i] > 1 {
			dup++
		}
	}
	return got, dup
}

func runStreamPipeline(t *testing.T, src ingest.Source, st *ingest.Stats) (*seqDest, context.CancelFunc, chan error) {
	t.Helper()
	cfg := testConfig(testRules[:1], 0)
	dest := &seqDest{seen: map[int]int{}}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{QueueSize: 1 << 16})
	p, err := New(cfg, []ingest.Source{src}, []*ingest.Stats{st}, Options{Workers: 2, Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return dest, cancel, done
}

func waitCount(t *testing.T, d *seqDest, from, to int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := d.count(from, to)
		if got == (to-from+9)/10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d matching lines in [%d,%d) alerted", got, (to-from+9)/10, from, to)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebSocketRestartEveryLineAfterMatches: the WebSocket server dies
// mid-stream and comes back; every line sent after the restart reaches the
// rule engine and alerts.
func TestWebSocketRestartEveryLineAfterMatches(t *testing.T) {
	var mu sync.Mutex
	next := 0 // the next sequence number to send, across restarts
	upgrader := websocket.Upgrader{}
	srv := newRestartableServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mu.Lock()
			i := next
			if i >= 4000 {
				mu.Unlock()
				// All sent: hold the connection until the client or a
				// stop closes it.
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}
			next++
			mu.Unlock()
			if err := c.WriteMessage(websocket.TextMessage, []byte(seqLine(i))); err != nil {
				return
			}
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}))
	st := new(ingest.Stats)
	src, err := ingest.NewWebSocket(config.Stream{Name: "ws", Type: "websocket", URL: "ws://" + srv.addr + "/", ReconnectDelay: config.Duration(50 * time.Millisecond)}, ingest.Options{Stats: st})
	if err != nil {
		t.Fatal(err)
	}
	dest, cancel, done := runStreamPipeline(t, src, st)
	waitCount(t, dest, 0, 1000)
	srv.stop()
	mu.Lock()
	restartAt := next
	mu.Unlock()
	srv.start()
	waitCount(t, dest, restartAt+(10-restartAt%10)%10, 4000)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.Reconnects.Load() == 0 {
		t.Fatal("no reconnect counted")
	}
}

// TestSSERestartResumesWithoutGapsOrRepeats: the SSE server dies
// mid-stream; the client resumes with Last-Event-ID and the server replays
// from there: every matching line alerts exactly once.
func TestSSERestartResumesWithoutGapsOrRepeats(t *testing.T) {
	const total = 3000
	var killAfter sync.Once
	stopped := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := 0
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			n, _ := strconv.Atoi(id)
			start = n + 1
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := start; i < total; i++ {
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", i, seqLine(i))
			if i%50 == 0 {
				fl.Flush()
			}
			if i == 1234 {
				// Die mid-event: half an event on the wire, then the crash.
				fmt.Fprintf(w, "id: 1235\ndata: ERROR Operat")
				fl.Flush()
				killAfter.Do(func() { close(stopped) })
				<-r.Context().Done()
				return
			}
		}
		fl.Flush()
		<-r.Context().Done()
	})
	srv := newRestartableServer(t, h)
	st := new(ingest.Stats)
	src, err := ingest.NewHTTP(config.Stream{Name: "sse", Type: "http", URL: "http://" + srv.addr + "/events", ReconnectDelay: config.Duration(50 * time.Millisecond)}, ingest.Options{Stats: st})
	if err != nil {
		t.Fatal(err)
	}
	dest, cancel, done := runStreamPipeline(t, src, st)
	<-stopped
	srv.stop()
	srv.start()
	waitCount(t, dest, 0, total)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, dup := dest.count(0, total); dup != 0 {
		t.Fatalf("%d lines alerted twice after the resume", dup)
	}
}

// TestTCPRestartEveryLineAfterMatches: a TCP log server dies mid-stream
// and comes back on the same port; every line it sends after the restart
// alerts.
func TestTCPRestartEveryLineAfterMatches(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// serve writes lines [from, to) to the first client, then holds it.
	serve := func(ln net.Listener, from, to int) chan net.Conn {
		conns := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			for i := from; i < to; i++ {
				if _, err := fmt.Fprintf(c, "%s\n", seqLine(i)); err != nil {
					return
				}
			}
		}()
		return conns
	}
	first := serve(ln, 0, 2000)
	st := new(ingest.Stats)
	rec := tracetest.NewSpanRecorder()
	spans := ConnectionSpans(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	src, err := ingest.NewTCP(config.Stream{Name: "tcp", Type: "tcp", URL: addr, ReconnectDelay: config.Duration(50 * time.Millisecond)}, ingest.Options{Stats: st, OnConnection: spans})
	if err != nil {
		t.Fatal(err)
	}
	dest, cancel, done := runStreamPipeline(t, src, st)
	waitCount(t, dest, 0, 2000)
	// The crash: listener and connection gone.
	ln.Close()
	(<-first).Close()
	var ln2 net.Listener
	for range 50 {
		if ln2, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	second := serve(ln2, 2000, 6000)
	waitCount(t, dest, 2000, 6000)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	(<-second).Close()
	if st.Reconnects.Load() == 0 {
		t.Fatal("no reconnect counted")
	}
	// One span per connection: the first ended with the crash, the last
	// with the shutdown; failed attempts in between are spans too.
	ended := rec.Ended()
	if len(ended) < 2 {
		t.Fatalf("%d connection spans, want at least 2", len(ended))
	}
	for _, s := range ended {
		if s.Name() != "source.connection" {
			t.Fatalf("span %q", s.Name())
		}
	}
	if first := ended[0]; len(first.Events()) == 0 || first.Events()[0].Name != "connected" {
		t.Fatalf("the first connection's span has no connected event: %v", first.Events())
	}
	if last := ended[len(ended)-1]; last.Status().Code == codes.Error {
		t.Fatalf("the connection closed by shutdown ended in error: %v", last.Status())
	}
}
