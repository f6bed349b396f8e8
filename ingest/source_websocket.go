package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/tinywatcher/tinywatcher/config"
)

// wsMaxMessage bounds the bytes taken from one WebSocket message; the rest
// of a larger message is read and dropped, and the message is counted in
// Stats.Oversized. The connection stays up.
const wsMaxMessage = 16 << 20

// WebSocket follows a WebSocket log stream (type: websocket).
//
// Every text or binary message is one or more lines: each message is
// framed on its own (a message never joins the next one), so a message
// without a final newline is one line. A message is taken up to
// wsMaxMessage bytes. The source sends a ping every half idle timeout and
// reconnects when nothing (data, ping or pong) arrived for the idle
// timeout (idle_timeout, default 60s), or the connection fails, forever,
// with Backoff from reconnect_delay. Messages are whole, so a disconnect
// leaves no partial line, except when it breaks a message in two: the
// unfinished last line of that message is dropped.
//
// Lines of an Azure App Service log stream URL lose the service's banner
// and heartbeat lines (counted by Heartbeats).
//
// A Kubernetes pod log URL (/api/v1/namespaces/NS/pods/NAME/log, the
// spec's example) is different: the API server sends the log body as
// binary messages cut anywhere, not at line ends, so its messages are one
// byte stream, and the source resumes it as the HTTP source does
// (timestamps=true, sinceTime, dedupe; see k8s.go). A broken connection
// drops the unfinished line, which the resumed stream sends again.
type WebSocket struct {
	name       string
	url        string
	header     http.Header
	dialer     websocket.Dialer
	cfg        config.Stream
	opt        Options
	stats      *Stats
	idle       time.Duration
	maxMessage int64
	u          *url.URL
	azure      bool
	k8s        bool // Kubernetes pod log: messages are a byte stream
	heartbeats atomic.Uint64
}

// NewWebSocket checks cfg and returns the source; it does not connect.
func NewWebSocket(cfg config.Stream, opt Options) (*WebSocket, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("websocket stream: cannot parse url %q: %w", cfg.URL, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("websocket stream: url %q must start with ws:// or wss://", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websocket stream: url %q has no host", cfg.URL)
	}
	tlsCfg, err := streamTLSConfig(cfg.TLS, u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("websocket stream %q: %w", streamName(cfg), err)
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	h := make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	target := cfg.URL
	if u.User != nil {
		// WebSocket URLs may not carry credentials (RFC 6455 3); send them
		// as basic auth, as a browser would, unless a header already does.
		if h.Get("Authorization") == "" {
			pass, _ := u.User.Password()
			r := http.Request{Header: h}
			r.SetBasicAuth(u.User.Username(), pass)
		}
		cu := *u
		cu.User = nil
		u = &cu
		target = u.String()
	}
	w := &WebSocket{
		name:       streamName(cfg),
		url:        target,
		header:     h,
		cfg:        cfg,
		opt:        opt,
		stats:      opt.Stats,
		idle:       streamIdle(cfg),
		maxMessage: wsMaxMessage,
		u:          u,
		azure:      streamIsAzureLogStream(u),
		k8s:        k8sIsPodLog(u.Path),
	}
	w.dialer = websocket.Dialer{
		TLSClientConfig:  tlsCfg,
		HandshakeTimeout: min(w.idle, streamDialTimeout),
		ReadBufferSize:   64 << 10,
		WriteBufferSize:  4 << 10,
		Proxy:            http.ProxyFromEnvironment,
	}
	return w, nil
}

// Kind is KindStream.
func (w *WebSocket) Kind() Kind { return KindStream }

// Name is the configured stream name.
func (w *WebSocket) Name() string { return w.name }

// Stats returns the source's counters.
func (w *WebSocket) Stats() *Stats { return w.stats }

// Heartbeats counts Azure log stream banner and heartbeat lines dropped.
func (w *WebSocket) Heartbeats() uint64 { return w.heartbeats.Load() }

// Run connects and reads messages until ctx is cancelled, then returns
// nil. It returns an error only when out fails.
func (w *WebSocket) Run(ctx context.Context, out Emitter) error {
	em := &streamEmitter{out: out, stats: w.stats}
	f := NewFramer(em, w.opt.MaxLine, w.stats)
	defer f.Close()
	s := &wsSession{w: w, f: f, em: em}
	if w.azure || w.k8s {
		maxLine := w.opt.MaxLine
		if maxLine <= 0 {
			maxLine = DefaultMaxLine
		}
		s.lines = &streamLines{max: maxLine + 64}
	}
	r := newStreamRunner(w.name, w.cfg, streamLogger(w.opt), w.stats).withHook(w.opt.OnConnection)
	s.r = r
	err := r.run(ctx, s.run)
	if ferr := f.Flush(); err == nil && ferr != nil && ctx.Err() == nil {
		err = ferr
	}
	return err
}

// wsSession is the per-source state a connection works with.
type wsSession struct {
	w     *WebSocket
	r     *streamRunner
	f     *Framer
	em    *streamEmitter
	lines *streamLines // set for Azure and Kubernetes: lines one by one
	k8s   k8sTracker
	lr    io.LimitedReader
	buf   []byte

	// between is true while the reader waits for the next message: a
	// socket read then may block, so the lines held are flushed first.
	between  bool
	flushErr error
}

// beforeRead runs on the reading goroutine just before a socket read.
func (s *wsSession) beforeRead() error {
	if s.between && s.flushErr == nil {
		s.flushErr = s.f.Flush()
	}
	return s.flushErr
}

func (s *wsSession) run(ctx context.Context) (res streamResult) {
	w := s.w
	s.between, s.flushErr = false, nil
	var (
		mu   sync.Mutex
		raw  net.Conn
		stop = func() bool { return false }
	)
	defer func() {
		stop()
		mu.Lock()
		if raw != nil {
			raw.Close()
		}
		mu.Unlock()
	}()
	d := w.dialer
	d.NetDialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Timeout: streamDialTimeout}
		c, err := nd.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc := &streamConn{Conn: c, idle: w.idle, beforeRead: s.beforeRead}
		mu.Lock()
		raw = c
		mu.Unlock()
		stop = context.AfterFunc(ctx, func() { c.Close() })
		return sc, nil
	}
	target := w.url
	if w.k8s {
		u := *w.u
		u.RawQuery = s.k8s.query(w.u)
		target = u.String()
	}
	conn, resp, err := d.DialContext(ctx, target, w.header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, streamSnippet))
			resp.Body.Close()
			res.err = fmt.Errorf("websocket handshake: status %d: %q", resp.StatusCode, streamSnippetOf(body))
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				res.retryAfter = streamRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			}
			return res
		}
		res.err = err
		return res
	}
	res.connected = time.Now()
	streamLogger(w.opt).Debug("stream connected", "stream", w.name)
	s.r.connected()
	if w.k8s {
		s.k8s.reconnect()
	}
	if s.lines != nil {
		s.lines.reset()
	}
	// From now on a cancel says goodbye with a close frame, then closes
	// the socket, which ends the read below.
	if stop() {
		stop = context.AfterFunc(ctx, func() {
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(100*time.Millisecond))
			conn.Close()
		})
	} else {
		// Cancelled already: the socket is closed.
		res.err = ctx.Err()
		return res
	}

	// Keepalive: a ping every half idle timeout; the pong (like any byte)
	// moves the read deadline on.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(w.idle/2, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(w.idle)); err != nil {
					return
				}
			}
		}
	})
	defer func() {
		close(done)
		conn.Close()
		wg.Wait()
	}()

	for {
		s.between = true
		typ, r, err := conn.NextReader()
		s.between = false
		if err != nil {
			if s.flushErr != nil {
				res.fatal = s.flushErr
				return res
			}
			res.err = wsEndError(err, w.idle)
			return res
		}
		if typ != websocket.TextMessage && typ != websocket.BinaryMessage {
			continue
		}
		if err := s.message(r); err != nil {
			if s.em.err != nil {
				res.fatal = s.em.err
				return res
			}
			// The connection broke inside a message: drop its unfinished line.
			s.f.Discard()
			if s.lines != nil {
				s.lines.reset()
			}
			res.err = wsEndError(err, w.idle)
			return res
		}
	}
}

// message frames one message read from r.
func (s *wsSession) message(r io.Reader) error {
	s.lr.R, s.lr.N = r, s.w.maxMessage
	if s.lines == nil {
		if _, err := s.f.ReadFrom(&s.lr); err != nil {
			return err
		}
	} else {
		if s.buf == nil {
			s.buf = make([]byte, 32<<10)
		}
		for {
			n, err := s.lr.Read(s.buf)
			if n > 0 {
				if werr := s.lines.write(s.buf[:n], s.line); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if !s.w.k8s {
			// A message ends its last line; a Kubernetes message does not.
			if p := s.lines.pending(); len(p) > 0 || s.lines.skipping {
				if err := s.line(p); err != nil {
					return err
				}
			}
			s.lines.reset()
		}
	}
	if s.lr.N == 0 {
		// The message reached the bound: drop the rest of it.
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return err
		}
		if n > 0 {
			s.w.stats.Oversized.Add(1)
		}
	}
	return s.f.WriteMessage(nil)
}

// line frames one line of an Azure log stream, dropping its banners, or of
// a Kubernetes log, stripping and tracking its timestamp.
func (s *wsSession) line(l []byte) error {
	if s.w.k8s {
		msg, keep := s.k8s.line(l)
		if !keep {
			return nil
		}
		l = msg
	}
	if s.w.azure && streamAzureBanner(l) {
		s.w.heartbeats.Add(1)
		return nil
	}
	return s.f.WriteMessage(l)
}

func wsEndError(err error, idle time.Duration) error {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		if ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway {
			return nil
		}
		return fmt.Errorf("closed by server: %d %s", ce.Code, strings.TrimSpace(ce.Text))
	case streamIsTimeout(err):
		return fmt.Errorf("nothing received for %v (idle_timeout)", idle)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("connection closed by server")
	}
	return err
}
