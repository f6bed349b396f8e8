package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpproxy"

	"github.com/tinywatcher/tinywatcher/config"
)

// HTTP follows a long-lived HTTP response body (type: http): a chunked or
// endless newline-delimited body, Server-Sent Events, a Kubernetes pod log
// or an Azure App Service log stream.
//
// The request is cfg.Method (GET by default) with cfg.Body and cfg.Headers,
// sent again on every reconnect. The response decides the reading:
//
//   - Content-Type text/event-stream: Server-Sent Events (see sse.go). Each
//     event's data is one log entry; data of several lines (several data:
//     fields) gives one log line per data line. Event type and id are not
//     part of the line; events with empty data give no line; comments are
//     keepalives. The last event id is sent as Last-Event-ID on reconnect,
//     and a retry: field becomes the base of the reconnect delay (retry: 0
//     is ignored).
//   - Otherwise newline-delimited lines. A clean end of the body ends its
//     last line; a broken connection drops the unfinished last line.
//   - A Kubernetes pod log URL strips and tracks timestamps to resume with
//     no gap and no duplicate (see k8s.go); an Azure log stream URL drops the
//     service's banner and heartbeat lines (counted by Heartbeats).
//
// Any status but 2xx is logged (throttled) with the start of its body and
// retried after the backoff, or after Retry-After on 429 and 503. There is
// no overall read timeout: a connection on which nothing arrived for the
// idle timeout (idle_timeout, default 60s) is dropped and reconnected.
// Redirects are not followed.
type HTTP struct {
	name       string
	cfg        config.Stream
	opt        Options
	stats      *Stats
	idle       time.Duration
	u          *url.URL
	method     string
	body       []byte
	hc         *fasthttp.HostClient
	k8s        bool
	azure      bool
	heartbeats atomic.Uint64
	logEvery   time.Duration // tests: the reconnect log interval when > 0
	// proxy picks the HTTP proxy for a target (from HTTPS_PROXY,
	// HTTP_PROXY and NO_PROXY; never for loopback targets); nil URL: none.
	proxy func(*url.URL) (*url.URL, error)
}

// NewHTTP checks cfg and returns the source; it does not connect.
func NewHTTP(cfg config.Stream, opt Options) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("http stream: cannot parse url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("http stream: url %q must start with http:// or https://", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("http stream: url %q has no host", cfg.URL)
	}
	method := strings.ToUpper(strings.TrimSpace(cfg.Method))
	if method == "" {
		method = fasthttp.MethodGet
	}
	if strings.ContainsAny(method, " \t\r\n") {
		return nil, fmt.Errorf("http stream: bad method %q", cfg.Method)
	}
	tlsCfg, err := streamTLSConfig(cfg.TLS, u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("http stream %q: %w", streamName(cfg), err)
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	h := &HTTP{
		name:   streamName(cfg),
		cfg:    cfg,
		opt:    opt,
		stats:  opt.Stats,
		idle:   streamIdle(cfg),
		u:      u,
		method: method,
		k8s:    k8sIsPodLog(u.Path),
		azure:  streamIsAzureLogStream(u),
	}
	if cfg.Body != "" {
		h.body = []byte(cfg.Body)
	}
	h.proxy = httpproxy.FromEnvironment().ProxyFunc()
	h.hc = &fasthttp.HostClient{
		Addr:      net.JoinHostPort(u.Hostname(), port),
		IsTLS:     u.Scheme == "https",
		TLSConfig: tlsCfg,
		Name:      "tinywatcher",
		// One connection at a time, never pooled (every request says
		// Connection: close) and never retried by fasthttp: the source
		// retries with its own backoff.
		MaxConns:                  1,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		ReadBufferSize:            64 << 10,
		StreamResponseBody:        true,
		// ReadTimeout covers the whole body: it must stay 0 for a stream.
		// streamConn's per-read deadline is the idle watchdog instead.
		ReadTimeout:  0,
		WriteTimeout: h.idle,
	}
	return h, nil
}

// Kind is KindStream.
func (h *HTTP) Kind() Kind { return KindStream }

// Name is the configured stream name.
func (h *HTTP) Name() string { return h.name }

// Stats returns the source's counters.
func (h *HTTP) Stats() *Stats { return h.stats }

// Heartbeats counts Azure log stream banner and heartbeat lines dropped.
func (h *HTTP) Heartbeats() uint64 { return h.heartbeats.Load() }

// Run requests the stream and reads it until ctx is cancelled, then
// returns nil. It returns an error only when out fails.
func (h *HTTP) Run(ctx context.Context, out Emitter) error {
	em := &streamEmitter{out: out, stats: h.stats}
	f := NewFramer(em, h.opt.MaxLine, h.stats)
	defer f.Close()
	maxLine := h.opt.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	s := &httpSession{
		h:     h,
		f:     f,
		em:    em,
		lines: streamLines{max: maxLine + 64},
		sse:   sseParser{maxLine: maxLine + 64},
		r:     newStreamRunner(h.name, h.cfg, streamLogger(h.opt), h.stats).withHook(h.opt.OnConnection),
	}
	if h.logEvery > 0 {
		s.r.thr.Interval = h.logEvery
	}
	err := s.r.run(ctx, s.run)
	if ferr := f.Flush(); err == nil && ferr != nil && ctx.Err() == nil {
		err = ferr
	}
	return err
}

// httpSession is the state one HTTP source carries across connections.
type httpSession struct {
	h     *HTTP
	f     *Framer
	em    *streamEmitter
	r     *streamRunner
	lines streamLines
	sse   sseParser
	k8s   k8sTracker
	once  httpOnceReader
	buf   []byte

	sseOversized int
	sseRetry     time.Duration
}

// httpMode is how a response body is read.
type httpMode uint8

const (
	httpPlain httpMode = iota // newline-delimited, straight into the framer
	httpLines                 // line by line: Kubernetes or Azure
	httpSSE                   // Server-Sent Events
)

func (s *httpSession) run(ctx context.Context) (res streamResult) {
	h := s.h
	var raw net.Conn
	stop := func() bool { return false }
	defer func() {
		stop()
		if raw != nil {
			raw.Close()
		}
	}()
	// Dial runs on this goroutine, inside Do: every connection is new.
	h.hc.Dial = func(addr string) (net.Conn, error) {
		var proxy *url.URL
		if h.proxy != nil {
			var err error
			if proxy, err = h.proxy(&url.URL{Scheme: h.u.Scheme, Host: addr}); err != nil {
				return nil, fmt.Errorf("bad proxy setting: %w", err)
			}
		}
		dialAddr := addr
		if proxy != nil {
			if proxy.Scheme != "http" {
				return nil, fmt.Errorf("proxy %s: only http:// proxies are supported", proxy.Redacted())
			}
			dialAddr = proxy.Host
			if proxy.Port() == "" {
				dialAddr = net.JoinHostPort(proxy.Hostname(), "80")
			}
		}
		d := net.Dialer{Timeout: streamDialTimeout}
		c, err := d.DialContext(ctx, "tcp", dialAddr)
		if err != nil {
			return nil, err
		}
		raw = c
		stop = context.AfterFunc(ctx, func() { c.Close() })
		if proxy != nil {
			if err := httpConnect(c, proxy, addr); err != nil {
				return nil, err
			}
		}
		return &streamConn{Conn: c, idle: h.idle}, nil
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer func() {
		_ = resp.CloseBodyStream()
		fasthttp.ReleaseResponse(resp)
		fasthttp.ReleaseRequest(req)
	}()
	uri := *h.u
	if h.k8s {
		uri.RawQuery = s.k8s.query(h.u)
	}
	req.SetRequestURI(uri.String())
	req.Header.SetMethod(h.method)
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	if h.body != nil {
		req.SetBodyRaw(h.body)
	}
	if id := s.sse.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	req.SetConnectionClose()
	if err := h.hc.Do(req, resp); err != nil {
		res.err = httpError(err, h.idle)
		return res
	}
	body := resp.BodyStream()
	if body == nil {
		body = bytes.NewReader(resp.Body())
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(body, streamSnippet))
		res.err = fmt.Errorf("status %d: %q", code, streamSnippetOf(snippet))
		if code == fasthttp.StatusTooManyRequests || code == fasthttp.StatusServiceUnavailable {
			res.retryAfter = streamRetryAfter(string(resp.Header.Peek("Retry-After")), time.Now())
		}
		return res
	}
	res.connected = time.Now()
	streamLogger(h.opt).Debug("stream connected", "stream", h.name, "status", resp.StatusCode())
	s.r.connected()

	mode := httpPlain
	if ct := resp.Header.ContentType(); len(ct) >= 17 && strings.EqualFold(string(ct[:17]), "text/event-stream") {
		mode = httpSSE
		s.sse.Reset()
	} else if h.k8s || h.azure {
		mode = httpLines
		if h.k8s {
			s.k8s.reconnect()
		}
	}
	err := s.read(body, mode)
	switch {
	case s.em.err != nil:
		res.fatal = s.em.err
	case err != nil:
		// The connection broke: an unfinished line is dropped (a resumed
		// Kubernetes log sends it again; SSE events are whole).
		s.f.Discard()
		s.lines.reset()
		res.err = httpError(err, h.idle)
	}
	return res
}

// read reads the body to its end and reports why it ended (nil at a clean
// end).
func (s *httpSession) read(body io.Reader, mode httpMode) error {
	if s.buf == nil && mode != httpPlain {
		s.buf = make([]byte, 64<<10)
	}
	for {
		var err error
		if mode == httpPlain {
			// Read straight into the framer's block, once, then flush: the
			// lines of every read are handed on without waiting for more.
			s.once = httpOnceReader{r: body}
			if _, ferr := s.f.ReadFrom(&s.once); ferr != nil && s.em.err != nil {
				return ferr
			}
			err = s.once.err
		} else {
			var n int
			n, err = body.Read(s.buf)
			if n > 0 {
				if perr := s.process(s.buf[:n], mode); perr != nil {
					return perr
				}
			}
		}
		switch {
		case err == nil:
			if ferr := s.f.Flush(); ferr != nil {
				return ferr
			}
		case err == io.EOF:
			return s.end(mode)
		default:
			return err
		}
	}
}

// process handles bytes read in the line or SSE mode.
func (s *httpSession) process(p []byte, mode httpMode) error {
	if mode == httpSSE {
		err := s.sse.Feed(p, s.event)
		if d := s.sse.oversized - s.sseOversized; d > 0 {
			s.h.stats.Oversized.Add(uint64(d))
			s.sseOversized = s.sse.oversized
		}
		if r := s.sse.retry; r > 0 && r != s.sseRetry {
			s.sseRetry = r
			s.r.bo.Base = r
		}
		return err
	}
	return s.lines.write(p, s.line)
}

// end finishes a body that ended cleanly.
func (s *httpSession) end(mode httpMode) error {
	switch mode {
	case httpPlain:
		return s.f.End()
	case httpLines:
		if p := s.lines.pending(); len(p) > 0 {
			if err := s.line(p); err != nil {
				return err
			}
		}
		s.lines.reset()
	}
	// SSE: an unfinished event is never dispatched.
	return s.f.Flush()
}

func (s *httpSession) event(ev *sseEvent) error {
	if len(ev.Data) == 0 {
		return nil
	}
	return s.f.WriteMessage(ev.Data)
}

func (s *httpSession) line(l []byte) error {
	if s.h.k8s {
		msg, keep := s.k8s.line(l)
		if !keep {
			return nil
		}
		l = msg
	}
	if s.h.azure && streamAzureBanner(l) {
		s.h.heartbeats.Add(1)
		return nil
	}
	return s.f.WriteMessage(l)
}

// httpOnceReader passes one Read on to r and then reports io.EOF, so
// Framer.ReadFrom reads once straight into its block.
type httpOnceReader struct {
	r    io.Reader
	done bool
	err  error
}

func (o *httpOnceReader) Read(p []byte) (int, error) {
	if o.done {
		return 0, io.EOF
	}
	o.done = true
	n, err := o.r.Read(p)
	o.err = err
	if err != nil && err != io.EOF {
		// Not handed to ReadFrom: the caller looks at o.err.
		return n, io.EOF
	}
	return n, err
}

// httpConnect opens a tunnel to target through an HTTP proxy with CONNECT
// (for http:// targets too, so a streamed body is never held by the proxy).
func httpConnect(c net.Conn, proxy *url.URL, target string) error {
	if err := c.SetDeadline(time.Now().Add(streamDialTimeout)); err != nil {
		return err
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return fmt.Errorf("proxy %s: %w", proxy.Host, err)
	}
	// Read the answer byte by byte up to its blank line, so no byte of the
	// tunnel is read ahead.
	var head []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) && !bytes.HasSuffix(head, []byte("\n\n")) {
		if len(head) > 16<<10 {
			return fmt.Errorf("proxy %s: answer too long", proxy.Host)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			return fmt.Errorf("proxy %s: %w", proxy.Host, err)
		}
		head = append(head, one[0])
	}
	status, _, _ := bytes.Cut(head, []byte("\n"))
	if f := strings.Fields(string(status)); len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || f[1] != "200" {
		return fmt.Errorf("proxy %s refused CONNECT %s: %q", proxy.Host, target, streamSnippetOf(bytes.TrimSpace(status)))
	}
	return c.SetDeadline(time.Time{})
}

func httpError(err error, idle time.Duration) error {
	switch {
	case streamIsTimeout(err), errors.Is(err, fasthttp.ErrTimeout):
		return fmt.Errorf("nothing received for %v (idle_timeout)", idle)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("connection closed by server in the middle of the body")
	}
	return err
}
