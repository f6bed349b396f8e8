package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// NewTCP returns the source of a `type: tcp` stream.
//
// By default (the original's meaning) it connects out to url, "host:port"
// (optionally "tcp://host:port", or "tls://host:port" for TLS with the
// system roots), and reads newline-ended lines, passed on as they are;
// tls: adds TLS (ca_file, cert_file/key_file for a client certificate,
// insecure_skip_verify). It reconnects forever, waiting reconnect_delay
// with exponential backoff and jitter; reconnects are logged (throttled)
// and counted in Stats.Reconnects. With idle_timeout, a connection on which
// nothing arrived for that long is dropped and dialled again.
//
// A line the peer left unfinished when the connection ended (it died or
// closed mid-line) is passed on as a line and counted in Stats.Invalid: its
// bytes are real log data, and a rule matching its start (an error whose
// writer crashed) is worth more than a line that is exact.
//
// With `listen: true` it is a syslog receiver instead: see source_syslog.go.
func NewTCP(cfg config.Stream, opt Options) (Source, error) {
	if cfg.Listen {
		return newSyslogListener(cfg, opt)
	}
	addr, useTLS := tcpAddr(cfg.URL)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return nil, fmt.Errorf("tcp stream url %q: want host:port", cfg.URL)
	}
	switch cfg.Protocol {
	case "", "tcp":
	default:
		return nil, fmt.Errorf("tcp stream %q: protocol %q needs listen: true (a dialling stream is always tcp)", cfg.URL, cfg.Protocol)
	}
	tc, err := streamTLSConfig(cfg.TLS, host)
	if err != nil {
		return nil, fmt.Errorf("tcp stream %q: %w", cfg.URL, err)
	}
	if tc == nil && useTLS {
		tc = &tls.Config{ServerName: host}
	}
	stats := opt.Stats
	if stats == nil {
		stats = new(Stats)
	}
	return &tcpSource{
		name:    streamName(cfg),
		cfg:     cfg,
		addr:    addr,
		tls:     tc,
		idle:    time.Duration(cfg.IdleTimeout),
		maxLine: opt.MaxLine,
		log:     streamLogger(opt),
		stats:   stats,
		thr:     Throttle{Interval: streamLogInterval},
		onConn:  opt.OnConnection,
	}, nil
}

// tcpAddr strips an optional tcp:// or tls:// scheme from a tcp stream url
// and reports whether it asked for TLS.
func tcpAddr(u string) (addr string, useTLS bool) {
	switch {
	case strings.HasPrefix(u, "tcp://"):
		return strings.TrimSuffix(u[len("tcp://"):], "/"), false
	case strings.HasPrefix(u, "tls://"):
		return strings.TrimSuffix(u[len("tls://"):], "/"), true
	}
	return u, false
}

// tcpSource is a dialling tcp stream.
type tcpSource struct {
	name    string
	cfg     config.Stream
	addr    string
	tls     *tls.Config
	idle    time.Duration // 0: none
	maxLine int
	log     *slog.Logger
	stats   *Stats
	thr     Throttle // mid-line disconnects
	onConn  func(Connection)
}

func (s *tcpSource) Kind() Kind    { return KindStream }
func (s *tcpSource) Name() string  { return s.name }
func (s *tcpSource) Stats() *Stats { return s.stats }

// Run connects and reads until ctx is cancelled; see NewTCP.
func (s *tcpSource) Run(ctx context.Context, out Emitter) error {
	em := &streamEmitter{out: out, stats: s.stats}
	fr := NewFramer(em, s.maxLine, s.stats)
	defer fr.Close()
	r := newStreamRunner(s.name, s.cfg, s.log, s.stats).withHook(s.onConn)
	return r.run(ctx, func(ctx context.Context) streamResult { return s.connect(ctx, fr, em) })
}

// errTCPDrained is how tcpReader tells ReadFrom's caller that the socket had
// no more data ready, so the lines read so far are handed on at once.
var errTCPDrained = errors.New("ingest: tcp: socket drained")

// tcpReader reads a connection for Framer.ReadFrom: each Read gets the idle
// deadline, and one that returned less than asked (nothing more was ready)
// ends ReadFrom with errTCPDrained, so the caller flushes before the next
// Read can block. A full Read means a full block, which the framer hands on
// anyway, so no line waits for more data to arrive.
type tcpReader struct {
	c    net.Conn
	idle time.Duration
}

func (r *tcpReader) Read(p []byte) (int, error) {
	if r.idle > 0 {
		if err := r.c.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
			return 0, err
		}
	}
	n, err := r.c.Read(p)
	if err == nil && n > 0 && n < len(p) {
		return n, errTCPDrained
	}
	return n, err
}

// connect runs one connection to its end.
func (s *tcpSource) connect(ctx context.Context, fr *Framer, em *streamEmitter) streamResult {
	var res streamResult
	d := &net.Dialer{Timeout: streamDialTimeout, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		res.err = err
		return res
	}
	res.connected = time.Now()
	s.log.Debug("tcp stream connected", "stream", s.name, "addr", s.addr)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	rd := &tcpReader{c: conn, idle: s.idle}
	for {
		_, err = fr.ReadFrom(rd)
		if err == errTCPDrained {
			if err = fr.Flush(); err != nil {
				break
			}
			continue
		}
		break
	}
	if em.err != nil {
		res.fatal = em.err
		return res
	}
	if ctx.Err() != nil {
		// Shutting down: hand on what was read, an unfinished line too.
		_ = fr.End()
		return res
	}
	if n := fr.Partial(); n > 0 {
		s.stats.Invalid.Add(1)
		s.thr.Log(ctx, s.log, slog.LevelWarn, "tcp stream ended mid-line; passing on the unfinished line",
			"stream", s.name, "bytes", n)
	}
	if ferr := fr.End(); ferr != nil {
		res.fatal = ferr
		return res
	}
	switch {
	case err == nil:
	case streamIsTimeout(err):
		res.err = fmt.Errorf("nothing received for %s (idle_timeout)", s.idle)
	default:
		res.err = err
	}
	return res
}
