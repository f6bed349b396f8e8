package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// This file is the syslog receiver: a tcp stream with `listen: true`.
//
//	streams:
//	  - name: syslog
//	    type: tcp
//	    listen: true
//	    url: ":5514"          # or "127.0.0.1:5514"
//	    protocol: both        # tcp (default) | udp | both, on the same port
//	    idle_timeout: 5m      # optional: drop TCP senders silent this long
//	    tls: {cert_file: server.pem, key_file: server.key, ca_file: clients.pem}
//
// Every message is parsed as RFC 5424 or RFC 3164: its MSG is the line the
// rules see, and its HOSTNAME (the sender's address when it has none) and
// APP-NAME/TAG go into the block's Meta, so alerts say where it came from.
// A message that is not syslog at all is passed on whole and counted in
// Stats.Invalid; nothing is lost.
//
// TCP framing is detected per connection (RFC 6587): a first byte 1-9 means
// octet counting ("MSG-LEN SP SYSLOG-MSG"), anything else newline framing,
// where a NUL also ends a message, as some senders do. An octet-counted
// message is one line even when it holds newlines (a stack trace): they
// become spaces, so a rule fires once for it and the alert quotes all of it.
// A broken length prefix is counted (Invalid), logged (throttled), and the
// connection falls back to newline framing. UDP: one datagram, one message.
//
// Connections are independent: each has its own framing state and carries
// at most one message bound (MaxLine) of unfinished data, so a sender that
// trickles a byte a second holds no more than that and blocks nobody. Whole
// messages from all connections go through one framer under a lock (a
// source hands on its blocks from one goroutine at a time), so the lines of
// two senders never interleave. At most syslogMaxConns connections are
// served at once; the excess is refused, counted in Stats.Errors and logged.
// Shutdown closes the listeners and every live connection, then waits for
// their goroutines.

const (
	// syslogMaxConns bounds the TCP connections served at once.
	syslogMaxConns = 10000
	// syslogSmallBuf is the read buffer of a connection; one that fills it
	// switches to a pooled DefaultBlockSize buffer until a read comes back
	// short, so idle connections hold little memory and busy ones read in
	// large chunks.
	syslogSmallBuf = 2 << 10
	// syslogHandshakeTimeout bounds a TLS handshake when no idle_timeout
	// is set.
	syslogHandshakeTimeout = 10 * time.Second
	// syslogUDPFlush is the longest a UDP message waits in a partly filled
	// block: datagrams carry no "nothing more ready" signal, so the reader
	// flushes when a read deadline this far after the first unflushed one
	// passes.
	syslogUDPFlush = 2 * time.Millisecond
	// syslogMaxUDP is the largest datagram read whole.
	syslogMaxUDP = 64 << 10
)

var syslogBufPool = sync.Pool{New: func() any { b := make([]byte, DefaultBlockSize); return &b }}

func newSyslogListener(cfg config.Stream, opt Options) (*syslogListener, error) {
	addr, useTLS := tcpAddr(cfg.URL)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("tcp listen url %q: want [host]:port, such as \":5514\"", cfg.URL)
	}
	l := &syslogListener{
		name:     streamName(cfg),
		addr:     addr,
		idle:     time.Duration(cfg.IdleTimeout),
		maxLine:  opt.MaxLine,
		maxConns: syslogMaxConns,
		log:      streamLogger(opt),
		stats:    opt.Stats,
		conns:    make(map[net.Conn]struct{}),
		ready:    make(chan struct{}),
	}
	if l.maxLine <= 0 {
		l.maxLine = DefaultMaxLine
	}
	if l.stats == nil {
		l.stats = new(Stats)
	}
	switch cfg.Protocol {
	case "", "tcp":
		l.tcp = true
	case "udp":
		l.udp = true
	case "both":
		l.tcp, l.udp = true, true
	default:
		return nil, fmt.Errorf("tcp listen %q: protocol %q: want tcp, udp or both", cfg.URL, cfg.Protocol)
	}
	if cfg.TLS != nil || useTLS {
		if !l.tcp {
			return nil, fmt.Errorf("tcp listen %q: tls needs protocol tcp or both", cfg.URL)
		}
		tc, err := syslogServerTLS(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("tcp listen %q: %w", cfg.URL, err)
		}
		l.tls = tc
	}
	for _, th := range []*Throttle{&l.thrRefused, &l.thrFrame, &l.thrNet} {
		th.Interval = streamLogInterval
	}
	return l, nil
}

// syslogServerTLS builds a listener's TLS config: cert_file and key_file
// are the server's certificate; ca_file, when set, requires clients to
// present a certificate it signed.
func syslogServerTLS(t *config.TLS) (*tls.Config, error) {
	if t == nil || t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("a TLS listener needs tls.cert_file and tls.key_file")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load tls.cert_file/tls.key_file: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %q holds no PEM certificate", t.CAFile)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// syslogListener is a tcp stream with listen: true. Run may be called once.
type syslogListener struct {
	name     string
	addr     string
	tcp, udp bool
	tls      *tls.Config
	idle     time.Duration
	maxLine  int
	maxConns int
	log      *slog.Logger
	stats    *Stats

	thrRefused, thrFrame, thrNet Throttle

	// mu guards frs, the framers all connections write whole messages
	// to, and intern.
	mu     sync.Mutex
	frs    syslogFramers
	intern map[string]string

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup

	failOnce sync.Once
	fatal    error
	cancel   context.CancelFunc

	// ready is closed once the listeners are bound (or failed to be);
	// tcpLn and udpLn are their addresses, for tests listening on port 0.
	ready        chan struct{}
	tcpLn, udpLn net.Addr
}

func (l *syslogListener) Kind() Kind    { return KindStream }
func (l *syslogListener) Name() string  { return l.name }
func (l *syslogListener) Stats() *Stats { return l.stats }

// Run binds the listeners and serves senders until ctx is cancelled. It
// fails only when it cannot bind, or when out fails (the pipeline is
// shutting down).
func (l *syslogListener) Run(ctx context.Context, out Emitter) error {
	l.frs = syslogFramers{out: out, maxLine: l.maxLine, stats: l.stats}
	defer l.frs.close()
	ctx, l.cancel = context.WithCancel(ctx)
	defer l.cancel()

	var lc net.ListenConfig
	var ln net.Listener
	var pc *net.UDPConn
	var err error
	if l.tcp {
		if ln, err = lc.Listen(ctx, "tcp", l.addr); err != nil {
			close(l.ready)
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("stream %q: cannot listen on tcp %s: %w", l.name, l.addr, err)
		}
		l.tcpLn = ln.Addr()
		if l.tls != nil {
			ln = tls.NewListener(ln, l.tls)
		}
	}
	if l.udp {
		addr := l.addr
		if ln != nil {
			addr = l.tcpLn.String() // the same port, also when it was 0
		}
		c, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			close(l.ready)
			return fmt.Errorf("stream %q: cannot listen on udp %s: %w", l.name, addr, err)
		}
		pc = c.(*net.UDPConn)
		l.udpLn = pc.LocalAddr()
	}
	close(l.ready)
	l.log.Info("syslog listener started", "stream", l.name, "tcp", l.tcpLn, "udp", l.udpLn, "tls", l.tls != nil)

	if ln != nil {
		l.wg.Add(1)
		go l.acceptLoop(ctx, ln)
	}
	if pc != nil {
		l.wg.Add(1)
		go l.udpLoop(ctx, pc)
	}
	<-ctx.Done()
	if ln != nil {
		ln.Close() // unblocks Accept
	}
	if pc != nil {
		pc.Close()
	}
	l.closeConns()
	l.wg.Wait()

	l.mu.Lock()
	if l.fatal == nil {
		_ = l.frs.end()
	}
	l.mu.Unlock()
	if l.fatal != nil {
		return fmt.Errorf("stream %q: %w", l.name, l.fatal)
	}
	return nil
}

// fail stops the listener after the emitter failed. Called with mu held.
func (l *syslogListener) fail(err error) {
	l.failOnce.Do(func() {
		l.fatal = err
		l.cancel()
	})
}

// track registers a new connection; false when it must be refused.
func (l *syslogListener) track(c net.Conn) bool {
	l.connsMu.Lock()
	defer l.connsMu.Unlock()
	if l.closed {
		return false
	}
	if len(l.conns) >= l.maxConns {
		l.stats.Errors.Add(1)
		l.thrRefused.Log(context.Background(), l.log, slog.LevelWarn, "syslog listener refused a connection: too many connections",
			"stream", l.name, "remote", c.RemoteAddr().String(), "max", l.maxConns)
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *syslogListener) untrack(c net.Conn) {
	l.connsMu.Lock()
	delete(l.conns, c)
	l.connsMu.Unlock()
}

func (l *syslogListener) closeConns() {
	l.connsMu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.connsMu.Unlock()
}

func (l *syslogListener) acceptLoop(ctx context.Context, ln net.Listener) {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http's Server does.
			l.stats.Errors.Add(1)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.thrNet.Log(ctx, l.log, slog.LevelWarn, "syslog listener cannot accept; retrying",
				"stream", l.name, "err", err.Error(), "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		delay = 0
		if !l.track(c) {
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.serve(ctx, c)
	}
}

// syslogConn is the state of one sender: a TCP connection, or the UDP
// socket (whose peer changes with every datagram).
type syslogConn struct {
	l    *syslogListener
	peer string // the sender's address, the Host of messages without one
	meta Meta   // the Meta of its last message, reused while unchanged

	mode  uint8 // syslogModeUnknown until the first byte
	op    octetParser
	carry []byte // an unfinished newline-framed message, at most maxLine bytes
	skip  bool   // dropping the rest of an over-long newline-framed message
}

const (
	syslogModeUnknown uint8 = iota
	syslogModeOctet
	syslogModeNewline
)

func (l *syslogListener) serve(ctx context.Context, c net.Conn) {
	defer l.wg.Done()
	defer l.untrack(c)
	defer c.Close()

	sc := &syslogConn{l: l, op: octetParser{max: l.maxLine}}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		sc.peer = ap.Addr().Unmap().String()
	}
	if tc, ok := c.(*tls.Conn); ok {
		hs := l.idle
		if hs <= 0 {
			hs = syslogHandshakeTimeout
		}
		hctx, cancel := context.WithTimeout(ctx, hs)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			l.stats.Errors.Add(1)
			l.thrNet.Log(ctx, l.log, slog.LevelWarn, "syslog listener: TLS handshake failed",
				"stream", l.name, "remote", sc.peer, "err", err.Error())
			return
		}
	}

	small := make([]byte, syslogSmallBuf)
	buf := small
	var big *[]byte
	defer func() {
		if big != nil {
			syslogBufPool.Put(big)
		}
	}()
	for {
		if l.idle > 0 {
			if err := c.SetReadDeadline(time.Now().Add(l.idle)); err != nil {
				break
			}
		}
		n, err := c.Read(buf)
		if n > 0 {
			drained := n < len(buf)
			l.mu.Lock()
			perr := sc.feed(buf[:n])
			if perr == nil && drained {
				perr = l.frs.flush()
			}
			if perr != nil {
				l.fail(perr)
			}
			l.mu.Unlock()
			if perr != nil {
				return
			}
			switch {
			case !drained && big == nil:
				big = syslogBufPool.Get().(*[]byte)
				buf = *big
			case drained && big != nil:
				syslogBufPool.Put(big)
				big = nil
				buf = small
			}
		}
		if err != nil {
			if streamIsTimeout(err) {
				l.log.Debug("syslog listener: dropping an idle connection", "stream", l.name, "remote", sc.peer, "idle_timeout", l.idle)
			}
			break
		}
	}
	l.mu.Lock()
	if err := sc.end(); err != nil {
		l.fail(err)
	}
	l.mu.Unlock()
}

// feed frames data read from a TCP connection. Called with l.mu held.
func (sc *syslogConn) feed(data []byte) error {
	if sc.mode == syslogModeUnknown {
		i := 0
		for i < len(data) && (data[i] == '\n' || data[i] == '\r' || data[i] == 0) {
			i++
		}
		if i == len(data) {
			return nil
		}
		data = data[i:]
		if data[0] >= '1' && data[0] <= '9' {
			sc.mode = syslogModeOctet
		} else {
			sc.mode = syslogModeNewline
		}
	}
	if sc.mode == syslogModeNewline {
		return sc.lines(data)
	}
	head, rest, err := sc.op.Feed(data, sc.octetMessage)
	if err != errOctetFrame {
		return err
	}
	l := sc.l
	l.stats.Invalid.Add(1)
	l.thrFrame.Log(context.Background(), l.log, slog.LevelWarn,
		"syslog listener: bad octet-counting frame; newline framing for the rest of the connection",
		"stream", l.name, "remote", sc.peer, "data", streamSnippetOf(rest))
	sc.mode = syslogModeNewline
	if err := sc.lines(head); err != nil {
		return err
	}
	return sc.lines(rest)
}

func (sc *syslogConn) octetMessage(msg []byte, truncated bool) error {
	if truncated {
		sc.l.stats.Oversized.Add(1)
	}
	if len(msg) == 0 {
		sc.l.stats.Invalid.Add(1) // a zero length
		return nil
	}
	return sc.message(octetFlatten(msg))
}

// lines cuts newline-framed messages, ended by '\n' or NUL; a '\r' before
// the '\n' is dropped.
func (sc *syslogConn) lines(data []byte) error {
	bound := sc.l.maxLine
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		seg := data
		if i >= 0 {
			seg = data[:i]
		}
		if j := bytes.IndexByte(seg, 0); j >= 0 {
			i, seg = j, seg[:j]
		}
		if i < 0 {
			sc.addCarry(data)
			return nil
		}
		data = data[i+1:]
		if sc.skip {
			sc.skip = false
			continue
		}
		msg := seg
		if len(sc.carry) > 0 {
			sc.addCarry(seg)
			if sc.skip {
				// addCarry handed on the bounded start already.
				sc.skip = false
				continue
			}
			msg = sc.carry
		}
		// As in Framer, the bound counts a final '\r': a message is cut
		// the same way however its bytes arrived.
		if len(msg) > bound {
			sc.l.stats.Oversized.Add(1)
			msg = msg[:bound]
		} else if len(msg) > 0 && msg[len(msg)-1] == '\r' {
			msg = msg[:len(msg)-1]
		}
		err := sc.message(msg)
		sc.resetCarry()
		if err != nil {
			return err
		}
	}
	return nil
}

// addCarry keeps an unfinished message. One that outgrows the bound is
// handed on as its first maxLine bytes now, and the rest skipped.
func (sc *syslogConn) addCarry(p []byte) {
	if sc.skip {
		return
	}
	room := sc.l.maxLine - len(sc.carry)
	if len(p) <= room {
		sc.carry = append(sc.carry, p...)
		return
	}
	sc.carry = append(sc.carry, p[:room]...)
	sc.l.stats.Oversized.Add(1)
	if err := sc.message(sc.carry); err != nil {
		sc.l.fail(err)
	}
	sc.resetCarry()
	sc.skip = true
}

func (sc *syslogConn) resetCarry() {
	if cap(sc.carry) > octetKeepBuf {
		sc.carry = nil
	} else {
		sc.carry = sc.carry[:0]
	}
}

// end hands on what a closed connection left unfinished, counted as
// invalid: its last message may be cut.
func (sc *syslogConn) end() error {
	var msg []byte
	switch sc.mode {
	case syslogModeOctet:
		if p := sc.op.pending(); len(p) > 0 {
			msg = octetFlatten(p)
		}
		if sc.op.Reset() {
			sc.l.stats.Invalid.Add(1)
		}
	case syslogModeNewline:
		if len(sc.carry) > 0 {
			msg = sc.carry
			sc.l.stats.Invalid.Add(1)
		}
	}
	var err error
	if len(msg) > 0 {
		err = sc.message(msg)
	}
	sc.resetCarry()
	sc.op.Reset()
	if err == nil {
		err = sc.l.frs.flush()
	}
	return err
}

// message parses one syslog message and writes its MSG with its host and
// app. Called with l.mu held; msg holds no '\n'.
func (sc *syslogConn) message(msg []byte) error {
	l := sc.l
	var m syslogMsg
	if !syslogParse(msg, &m) {
		l.stats.Invalid.Add(1)
	}
	host := m.Host
	if len(host) == 0 {
		if sc.meta.Host != sc.peer {
			sc.meta.Host = sc.peer
		}
	} else if string(host) != sc.meta.Host {
		sc.meta.Host = l.internString(host)
	}
	if string(m.App) != sc.meta.App {
		sc.meta.App = l.internString(m.App)
	}
	fr, err := l.frs.get(sc.meta)
	if err != nil {
		return err
	}
	return fr.WriteMessage(m.Msg)
}

// syslogMaxIntern bounds the strings interned for Meta; past it the table
// starts again, so a sender inventing hostnames costs no memory.
const syslogMaxIntern = 4096

// internString returns b as a string, the same one for the same bytes,
// so a relay alternating hosts and apps allocates nothing per message.
// Called with l.mu held.
func (l *syslogListener) internString(b []byte) string {
	if s, ok := l.intern[string(b)]; ok {
		return s
	}
	if l.intern == nil || len(l.intern) >= syslogMaxIntern {
		l.intern = make(map[string]string)
	}
	s := string(b)
	l.intern[s] = s
	return s
}

// syslogMetaFramers is how many framers a listener fills at once, one per
// Meta (host and app) seen last.
const syslogMetaFramers = 8

// syslogFramers cuts the messages of one listener into blocks. A block
// carries one Meta, so a single framer would hand on a block per message
// when a relay interleaves hosts or apps; instead each recent Meta fills its
// own block, up to syslogMetaFramers of them, and a new Meta past that takes
// over one of them (round robin, flushing it first). Lines of one host and
// app keep their order; lines of different ones may be handed on in a
// different order than they arrived within one flush. Not safe for
// concurrent use.
type syslogFramers struct {
	out     Emitter
	maxLine int
	stats   *Stats

	frs  []syslogMetaFramer
	last int // index of the framer of the last message
	next int // the next one to take over
}

type syslogMetaFramer struct {
	meta Meta
	fr   *Framer
}

// get returns the framer for lines with meta m.
func (s *syslogFramers) get(m Meta) (*Framer, error) {
	if s.last < len(s.frs) && s.frs[s.last].meta == m {
		return s.frs[s.last].fr, nil
	}
	for i := range s.frs {
		if s.frs[i].meta == m {
			s.last = i
			return s.frs[i].fr, nil
		}
	}
	if len(s.frs) < syslogMetaFramers {
		fr := NewFramer(s.out, s.maxLine, s.stats)
		if err := fr.SetMeta(m); err != nil {
			return nil, err
		}
		s.frs = append(s.frs, syslogMetaFramer{m, fr})
		s.last = len(s.frs) - 1
		return fr, nil
	}
	i := s.next
	s.next = (s.next + 1) % len(s.frs)
	if err := s.frs[i].fr.SetMeta(m); err != nil {
		return nil, err
	}
	s.frs[i].meta = m
	s.last = i
	return s.frs[i].fr, nil
}

// flush hands on every line held.
func (s *syslogFramers) flush() error {
	for i := range s.frs {
		if err := s.frs[i].fr.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func (s *syslogFramers) end() error {
	for i := range s.frs {
		if err := s.frs[i].fr.End(); err != nil {
			return err
		}
	}
	return nil
}

func (s *syslogFramers) close() {
	for i := range s.frs {
		s.frs[i].fr.Close()
	}
	s.frs = nil
}

func (l *syslogListener) udpLoop(ctx context.Context, pc *net.UDPConn) {
	defer l.wg.Done()
	sc := &syslogConn{l: l}
	var last netip.AddrPort
	buf := make([]byte, syslogMaxUDP)
	pending := false
	for {
		n, ap, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if streamIsTimeout(err) {
				l.mu.Lock()
				err = l.frs.flush()
				if err != nil {
					l.fail(err)
				}
				l.mu.Unlock()
				if err != nil {
					return
				}
				pending = false
				_ = pc.SetReadDeadline(time.Time{})
				continue
			}
			l.stats.Errors.Add(1)
			l.thrNet.Log(ctx, l.log, slog.LevelWarn, "syslog listener cannot read udp", "stream", l.name, "err", err.Error())
			continue
		}
		if ap != last {
			last = ap
			sc.peer = ap.Addr().Unmap().String()
		}
		msg := octetFlatten(buf[:n])
		if len(msg) == 0 {
			continue
		}
		l.mu.Lock()
		err = sc.message(msg)
		if err != nil {
			l.fail(err)
		}
		l.mu.Unlock()
		if err != nil {
			return
		}
		if !pending {
			pending = true
			_ = pc.SetReadDeadline(time.Now().Add(syslogUDPFlush))
		}
	}
}
