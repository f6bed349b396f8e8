package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tinywatcher/tinywatcher/config"
)

// This file holds what the WebSocket and HTTP stream sources share: the
// reconnect loop, a connection wrapper that enforces the idle timeout, TLS
// settings, throttled logging, a line splitter for sources that look at
// every line, and the Azure App Service banner filter.

const (
	// streamDefaultIdle is the idle timeout of websocket and http streams
	// when the config leaves it at 0.
	streamDefaultIdle = 60 * time.Second
	// streamDefaultDelay is the reconnect delay when the config leaves it at 0.
	streamDefaultDelay = 5 * time.Second
	// streamDialTimeout bounds connecting (TCP, TLS and the HTTP or upgrade
	// handshake up to the response headers is bounded by the idle timeout).
	streamDialTimeout = 30 * time.Second
	// streamLogInterval is the least time between two logged reconnects of
	// one source; the ones in between are counted in the next message.
	streamLogInterval = 10 * time.Second
	// streamSnippet bounds the error body quoted in the log.
	streamSnippet = 512
	// streamMaxRetryAfter caps a server's Retry-After.
	streamMaxRetryAfter = time.Hour
)

func streamIdle(cfg config.Stream) time.Duration {
	if d := time.Duration(cfg.IdleTimeout); d > 0 {
		return d
	}
	return streamDefaultIdle
}

// streamName is the configured name, or "<type>:<url>" with any password
// in the URL redacted, since the name goes into logs and alerts.
func streamName(cfg config.Stream) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	u := cfg.URL
	if pu, err := url.Parse(u); err == nil {
		u = pu.Redacted()
	}
	return cfg.Type + ":" + u
}

func streamLogger(opt Options) *slog.Logger {
	if opt.Logger != nil {
		return opt.Logger
	}
	return slog.Default()
}

// streamTLSConfig builds a client TLS config from the stream's tls
// section; nil when there is none.
func streamTLSConfig(t *config.TLS, serverName string) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{ServerName: serverName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user's choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %q holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, errors.New("tls.cert_file and tls.key_file must be set together")
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load tls.cert_file/tls.key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// streamConn wraps a network connection: every Read may first run a hook
// (the WebSocket source flushes its framer there, just before it could
// block), and gets a deadline idle from now, so a connection on which
// nothing arrived for idle fails with a timeout. A deadline set through
// SetDeadline or SetReadDeadline (a handshake timeout) still applies when
// it is earlier.
type streamConn struct {
	net.Conn
	idle       time.Duration
	beforeRead func() error

	mu    sync.Mutex
	outer time.Time
}

func (c *streamConn) Read(p []byte) (int, error) {
	if c.beforeRead != nil {
		if err := c.beforeRead(); err != nil {
			return 0, err
		}
	}
	if c.idle > 0 {
		d := time.Now().Add(c.idle)
		c.mu.Lock()
		if !c.outer.IsZero() && c.outer.Before(d) {
			d = c.outer
		}
		c.mu.Unlock()
		if err := c.Conn.SetReadDeadline(d); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *streamConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.outer = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.outer = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// streamIsTimeout reports whether err is a read deadline passing: the idle
// timeout.
func streamIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// streamEmitter counts lines holding invalid UTF-8 or NUL bytes (they pass
// through untouched) and remembers the first error of the emitter it wraps,
// which means the pipeline is shutting down.
type streamEmitter struct {
	out   Emitter
	stats *Stats
	err   error
}

func (e *streamEmitter) Emit(b *Block) error {
	if bytes.IndexByte(b.B, 0) >= 0 || !utf8.Valid(b.B) {
		e.stats.Invalid.Add(streamInvalidLines(b.B))
	}
	err := e.out.Emit(b)
	if err != nil && e.err == nil {
		e.err = err
	}
	return err
}

func streamInvalidLines(b []byte) uint64 {
	var n uint64
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if l := b[:i]; bytes.IndexByte(l, 0) >= 0 || !utf8.Valid(l) {
			n++
		}
		b = b[min(i+1, len(b)):]
	}
	return n
}

// streamResult is how one connection of a stream source ended.
type streamResult struct {
	connected  time.Time     // when it came up; zero if it never did
	retryAfter time.Duration // the server asked to wait at least this long
	err        error         // why it ended; nil for a clean end of stream
	fatal      error         // the emitter failed: stop the source
}

// streamRunner is the reconnect loop of one stream source.
type streamRunner struct {
	name     string
	log      *slog.Logger
	stats    *Stats
	bo       Backoff
	thr      Throttle // reconnect messages
	upThr    Throttle // "connected again" messages
	attempts int      // connections that failed or broke since the last good one
	onConn   func(Connection)
}

func newStreamRunner(name string, cfg config.Stream, log *slog.Logger, stats *Stats) *streamRunner {
	base := time.Duration(cfg.ReconnectDelay)
	if base <= 0 {
		base = streamDefaultDelay
	}
	return &streamRunner{
		name:  name,
		log:   log,
		stats: stats,
		bo:    Backoff{Base: base},
		thr:   Throttle{Interval: streamLogInterval},
		upThr: Throttle{Interval: streamLogInterval},
	}
}

// connected is called by a session as soon as its connection is up (the
// upgrade or response headers arrived): after failures it logs that the
// stream is back.
func (r *streamRunner) connected() {
	if r.attempts == 0 {
		return
	}
	if ok, dropped := r.upThr.Allow(time.Now()); ok {
		attrs := []any{"stream", r.name, "after_failures", r.attempts}
		if dropped > 0 {
			attrs = append(attrs, "suppressed", dropped)
		}
		r.log.Info("stream connected again", attrs...)
	}
	r.attempts = 0
}

// withHook sets the Options.OnConnection hook.
func (r *streamRunner) withHook(h func(Connection)) *streamRunner {
	r.onConn = h
	return r
}

// run calls connect until ctx is cancelled, waiting the backoff between
// connections. connect runs one connection to its end.
func (r *streamRunner) run(ctx context.Context, connect func(ctx context.Context) streamResult) error {
	for {
		bytes0 := r.stats.Bytes.Load()
		start := time.Now()
		res := connect(ctx)
		if r.onConn != nil {
			c := Connection{Source: r.name, Start: start, Connected: res.connected, End: time.Now(), Err: res.err}
			if ctx.Err() != nil {
				c.Err = nil
			}
			r.onConn(c)
		}
		if ctx.Err() != nil {
			return nil
		}
		if res.fatal != nil {
			return fmt.Errorf("stream %q: %w", r.name, res.fatal)
		}
		var lasted time.Duration
		if !res.connected.IsZero() {
			lasted = time.Since(res.connected)
		}
		// A response the server ended cleanly after sending data (a
		// long poll, a finite body) was a healthy connection: wait only
		// the base delay before the next one.
		healthy := res.err == nil && !res.connected.IsZero() && r.stats.Bytes.Load() > bytes0
		if healthy {
			lasted = max(lasted, time.Duration(math.MaxInt64))
		}
		d := r.bo.Next(lasted)
		if res.retryAfter > d {
			d = min(res.retryAfter, streamMaxRetryAfter)
		}
		if res.err != nil {
			r.stats.Errors.Add(1)
			r.attempts++
		}
		r.stats.Reconnects.Add(1)
		if ok, dropped := r.thr.Allow(time.Now()); ok {
			attrs := []any{"stream", r.name, "retry_in", d.Round(time.Millisecond)}
			if !res.connected.IsZero() {
				attrs = append(attrs, "connected_for", time.Since(res.connected).Round(time.Millisecond))
			}
			if res.err != nil {
				attrs = append(attrs, "err", res.err.Error())
			}
			if dropped > 0 {
				attrs = append(attrs, "suppressed", dropped)
			}
			switch {
			case res.connected.IsZero():
				r.log.Warn("stream connection failed; reconnecting", attrs...)
			case res.err != nil:
				r.log.Warn("stream broke; reconnecting", attrs...)
			default:
				r.log.Info("stream ended by the server; reconnecting", attrs...)
			}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// streamRetryAfter reads a Retry-After header: seconds or an HTTP date.
func streamRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(streamMaxRetryAfter/time.Second) {
			return streamMaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http1Date(v); err == nil {
		return min(max(t.Sub(now), 0), streamMaxRetryAfter)
	}
	return 0
}

// http1Date parses the date formats HTTP/1.1 allows (RFC 9110 5.6.7).
func http1Date(v string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC1123, time.RFC850, time.ANSIC} {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// streamSnippetOf quotes the start of an error body for the log.
func streamSnippetOf(b []byte) string {
	if len(b) > streamSnippet {
		b = b[:streamSnippet]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// streamLines cuts a byte stream into lines for sources that look at every
// line before framing it (Kubernetes timestamps, the Azure banner filter).
// A line longer than max keeps its first max bytes; the framer bounds and
// counts it after. Not safe for concurrent use.
type streamLines struct {
	max      int
	buf      []byte
	skipping bool
}

// write calls fn for every line completed in p (without its '\n'). The
// line is only valid during the call.
func (s *streamLines) write(p []byte, fn func(line []byte) error) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			return nil
		}
		var line []byte
		if len(s.buf) == 0 && !s.skipping {
			line = p[:i]
			if len(line) > s.max {
				line = line[:s.max]
			}
		} else {
			s.add(p[:i])
			line = s.buf
		}
		p = p[i+1:]
		err := fn(line)
		s.buf = s.buf[:0]
		s.skipping = false
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *streamLines) add(p []byte) {
	if s.skipping {
		return
	}
	if room := s.max - len(s.buf); len(p) > room {
		p = p[:room]
		s.skipping = true
	}
	s.buf = append(s.buf, p...)
}

// reset drops an unfinished line and returns its length.
func (s *streamLines) reset() int {
	n := len(s.buf)
	s.buf = s.buf[:0]
	s.skipping = false
	return n
}

// pending returns the unfinished line, or nil.
func (s *streamLines) pending() []byte { return s.buf }

// Azure App Service log stream (Kudu's /api/logstream) sends a welcome
// banner on connect and, when the application is quiet, a heartbeat line
// every minute; neither is a log line. Both may carry a leading timestamp:
//
//	2024-01-25T20:44:58  Welcome, you are now connected to log-streaming service. The default timeout is 2 hours. …
//	2022-05-13T08:29:13  No new trace in the past 1 min(s).
//	2025-11-21T17:06:10.736Z No new trace in the past 2 min(s).
//
// The filter applies only to URLs of that service and only to lines that
// are exactly these messages.
var (
	streamAzureWelcome   = regexp.MustCompile(`^(?:\d{4}-\d\d-\d\dT[0-9:.]+Z?\s+)?Welcome, you are now connected to log-streaming service\.`)
	streamAzureHeartbeat = regexp.MustCompile(`^(?:\d{4}-\d\d-\d\dT[0-9:.]+Z?\s+)?No new trace in the past \d+ min\(s\)\.\s*$`)
)

// streamIsAzureLogStream reports whether u is an App Service (Kudu) log
// stream: a host under .scm.azurewebsites.net (or a sovereign cloud's
// .scm.azurewebsites.*) and a path under /api/logstream or /logstream.
func streamIsAzureLogStream(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if !strings.Contains(host, ".scm.azurewebsites.") {
		return false
	}
	p := strings.ToLower(u.Path)
	return strings.HasPrefix(p, "/api/logstream") || strings.HasPrefix(p, "/logstream")
}

// streamAzureBanner reports whether line is the log stream's welcome banner
// or heartbeat.
func streamAzureBanner(line []byte) bool {
	if len(line) == 0 || len(line) > 512 {
		return false
	}
	if !bytes.Contains(line, []byte("Welcome, you are now connected")) && !bytes.Contains(line, []byte("No new trace in the past")) {
		return false
	}
	return streamAzureWelcome.Match(line) || streamAzureHeartbeat.Match(line)
}
