package engine

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
	"github.com/tinywatcher/tinywatcher/sink"
)

// defaultConfig is the bench rule set (match.DefaultRules) as a config
// alerting to one counting destination with the default cooldown.
func defaultConfig() *config.Config {
	var rules []config.Rule
	for _, r := range match.DefaultRules() {
		rules = append(rules, config.Rule{Name: r.Name, Pattern: r.Pattern, Text: r.Text, IgnoreCase: r.IgnoreCase})
	}
	return testConfig(rules, time.Minute)
}

// startBenchPipeline runs src through the default rules until the returned
// stop is called.
func startBenchPipeline(b *testing.B, src ingest.Source, st *ingest.Stats) (stop func()) {
	b.Helper()
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": &countingDest{}}, sink.Options{})
	p, err := New(defaultConfig(), []ingest.Source{src}, []*ingest.Stats{st}, Options{Dispatcher: disp})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

func waitLines(b *testing.B, st *ingest.Stats, want uint64) {
	for st.Lines.Load() < want {
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkTCPIntoEngine: a loopback TCP sender, the tcp source with
// newline framing, the matcher with the default rules, rule state and
// dispatch — bytes/s of the whole path for one connection.
func BenchmarkTCPIntoEngine(b *testing.B) {
	chunk := genLogRate(rand.New(rand.NewPCG(1, 2)), 40000, 500) // ~2 MiB, 1% matching
	lines := uint64(strings.Count(string(chunk), "\n"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	send := make(chan int)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for n := range send {
			for range n {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}
	}()
	st := new(ingest.Stats)
	src, err := ingest.NewTCP(config.Stream{Name: "tcp", Type: "tcp", URL: ln.Addr().String()}, ingest.Options{Stats: st})
	if err != nil {
		b.Fatal(err)
	}
	stop := startBenchPipeline(b, src, st)
	defer stop()
	send <- 1
	waitLines(b, st, lines) // connected and warm
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	send <- b.N
	waitLines(b, st, lines*uint64(b.N+1))
	b.StopTimer()
	close(send)
	b.ReportMetric(float64(lines*uint64(b.N))/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkWebSocketIntoEngine: one message per log line from a loopback
// WebSocket server through the whole path; reports messages/s. The server
// writes pre-encoded frames 64 KiB at a time so that the measure is the
// receiving side, not one send syscall per message.
func BenchmarkWebSocketIntoEngine(b *testing.B) {
	msgs := strings.Split(strings.TrimSuffix(string(genLogRate(rand.New(rand.NewPCG(3, 4)), 10000, 500)), "\n"), "\n")
	var frames [][]byte
	for _, m := range msgs {
		// Unmasked server-to-client text frames (RFC 6455 5.2).
		f := []byte{0x81, byte(len(m))}
		if len(m) > 125 {
			f = []byte{0x81, 126, byte(len(m) >> 8), byte(len(m))}
		}
		frames = append(frames, append(f, m...))
	}
	send := make(chan int)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		nc := c.NetConn()
		buf := make([]byte, 0, 64<<10)
		for n := range send {
			for i := range n {
				f := frames[i%len(frames)]
				if len(buf)+len(f) > cap(buf) {
					if _, err := nc.Write(buf); err != nil {
						return
					}
					buf = buf[:0]
				}
				buf = append(buf, f...)
			}
			if _, err := nc.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}))
	defer srv.Close()
	st := new(ingest.Stats)
	src, err := ingest.NewWebSocket(config.Stream{Name: "ws", Type: "websocket", URL: "ws" + strings.TrimPrefix(srv.URL, "http")}, ingest.Options{Stats: st})
	if err != nil {
		b.Fatal(err)
	}
	stop := startBenchPipeline(b, src, st)
	defer stop()
	send <- 1000
	waitLines(b, st, 1000)
	b.ResetTimer()
	send <- b.N
	waitLines(b, st, uint64(1000+b.N))
	b.StopTimer()
	close(send)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
