package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tinywatcher/tinywatcher/config"
)

// smtpRecorder is a go-smtp backend keeping every message it accepts.
type smtpRecorder struct {
	mu      sync.Mutex
	msgs    []smtpMsg
	rcptErr error
}

type smtpMsg struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

type smtpSession struct {
	r    *smtpRecorder
	conn *smtp.Conn
	cur  smtpMsg
}

func (r *smtpRecorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{r: r, conn: c}, nil
}

func (s *smtpSession) Reset()        { s.cur = smtpMsg{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.cur.From = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.r.rcptErr != nil {
		return s.r.rcptErr
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	return nil
}

func (r *smtpRecorder) messages() []smtpMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]smtpMsg(nil), r.msgs...)
}

// startSMTP runs a real SMTP server on loopback.
func startSMTP(t *testing.T, rec *smtpRecorder, tlsConfig *tls.Config) string {
	t.Helper()
	s := smtp.NewServer(rec)
	s.Domain = "localhost"
	s.TLSConfig = tlsConfig
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	done := make(chan struct{})
	go func() { s.Serve(l); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return l.Addr().String()
}

var fixedNow = func() time.Time { return time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC) }

const wantMailBody = "TinyWatcher: 2 alerts from web-1\r\n\r\n" +
	"Rule:   db_down\r\nTime:   2026-11-23T21:00:00Z\r\nSource: /var/log/app.log\r\n" +
	"Line:   psycopg2.OperationalError: could not connect to <db> & \"retry\" (and 41 more)\r\n\r\n" +
	"Rule:   disk_full\r\nTime:   2026-11-23T21:00:01Z\r\nLine:   no space left on device\r\n"

// checkMail parses an RFC 5322 message and checks its headers and body.
func checkMail(t *testing.T, data []byte, wantSubject, wantBody string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, data)
	}
	h := m.Header
	if d, err := h.Date(); err != nil || !d.Equal(fixedNow()) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	for k, v := range map[string]string{
		"From":                      "TinyWatcher <tw@example.com>",
		"To":                        "ops@example.com, Bob <bob@example.org>",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subj != wantSubject {
		t.Errorf("Subject %q (%q), want %q", subj, h.Get("Subject"), wantSubject)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{16}\.[0-9a-z]+@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != strings.ReplaceAll(wantBody, "\r\n", "\n") {
		t.Errorf("body\n got %q\nwant %q", got, wantBody)
	}
}

func emailAlert(server string) config.Alert {
	return config.Alert{Name: "mail", Type: "email", From: "TinyWatcher <tw@example.com>",
		To: []string{"ops@example.com", "Bob <bob@example.org>"}, SMTPServer: server}
}

func TestEmailSMTP(t *testing.T) {
	rec := &smtpRecorder{}
	addr := startSMTP(t, rec, nil)
	d := mustNew(t, emailAlert(addr), DestOptions{Now: fixedNow})
	if err := d.Send(context.Background(), []Alert{sampleAlert(), plainAlert()}); err != nil {
		t.Fatal(err)
	}
	msgs := rec.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one per batch", len(msgs))
	}
	m := msgs[0]
	if m.From != "tw@example.com" || strings.Join(m.To, ",") != "ops@example.com,bob@example.org" || m.TLS {
		t.Fatalf("envelope from %q to %q, TLS %v", m.From, m.To, m.TLS)
	}
	checkMail(t, m.Data, "[TinyWatcher] web-1: db_down, disk_full (2 alerts)", wantMailBody)
}

func TestEmailSMTPStartTLSAndNonASCII(t *testing.T) {
	// Borrow httptest's certificate for 127.0.0.1 and the pool that trusts it.
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	cert := hs.TLS.Certificates[0]
	roots := hs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	hs.Close()

	rec := &smtpRecorder{}
	addr := startSMTP(t, rec, &tls.Config{Certificates: []tls.Certificate{cert}})
	d := mustNew(t, emailAlert(addr), DestOptions{Now: fixedNow, SMTPTLS: &tls.Config{RootCAs: roots}})
	a := plainAlert()
	a.Identity = "wébserveur-1"
	a.Line = "disque plein: " + strings.Repeat("é", 600) // a long non-ASCII line
	if err := d.Send(context.Background(), []Alert{a}); err != nil {
		t.Fatal(err)
	}
	m := rec.messages()[0]
	if !m.TLS {
		t.Fatal("STARTTLS was offered but not used")
	}
	for _, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 78 {
			t.Fatalf("line of %d bytes: the body must be folded", len(line))
		}
	}
	checkMail(t, m.Data, "[TinyWatcher] wébserveur-1: disk_full",
		"TinyWatcher alert from wébserveur-1\n\nRule:   disk_full\nTime:   2026-11-23T21:00:01Z\nLine:   "+a.Line+"\n")

	// Without the CA the certificate is refused.
	d = mustNew(t, emailAlert(addr), DestOptions{Now: fixedNow})
	if err := d.Send(context.Background(), []Alert{a}); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
}

func TestEmailSMTPErrors(t *testing.T) {
	rec := &smtpRecorder{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}
	addr := startSMTP(t, rec, nil)
	d := mustNew(t, emailAlert(addr), DestOptions{Now: fixedNow})
	var perm *Permanent
	if err := d.Send(context.Background(), []Alert{plainAlert()}); !errors.As(err, &perm) || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("550: err %v, want Permanent", err)
	}
	rec.rcptErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	if err := d.Send(context.Background(), []Alert{plainAlert()}); err == nil || errors.As(err, &perm) {
		t.Fatalf("451: err %v, want a retryable error", err)
	}
}

func TestEmailSMTPHonoursContext(t *testing.T) {
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	d := mustNew(t, emailAlert(l.Addr().String()), DestOptions{Now: fixedNow})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- d.Send(ctx, []Alert{plainAlert()}) }()
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("Send succeeded against a silent server")
	}
	l.Close()
	<-done
	for _, c := range conns {
		c.Close()
	}
}

// fakeSendmail writes a script that records its arguments and stdin, and
// exits with code.
func fakeSendmail(t *testing.T, code string) (path, dir string) {
	dir = t.TempDir()
	path = filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\necho \"$@\" > '" + dir + "/args'\ncat > '" + dir + "/stdin'\necho 'sendmail: oops' >&2\nexit " + code + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestEmailSendmail(t *testing.T) {
	path, dir := fakeSendmail(t, "0")
	d := mustNew(t, emailAlert(""), DestOptions{Now: fixedNow, Sendmail: path})
	if err := d.Send(context.Background(), []Alert{sampleAlert(), plainAlert()}); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "-t -i\n" {
		t.Fatalf("sendmail args %q, want -t -i", args)
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if bytes.Contains(stdin, []byte("\r\n")) {
		t.Fatal("sendmail got CRLF line ends; it wants the local convention")
	}
	checkMail(t, stdin, "[TinyWatcher] web-1: db_down, disk_full (2 alerts)", wantMailBody)
}

func TestEmailSendmailErrors(t *testing.T) {
	var perm *Permanent
	for code, permanent := range map[string]bool{"75": false, "1": false, "67": true} {
		path, _ := fakeSendmail(t, code)
		d := mustNew(t, emailAlert(""), DestOptions{Now: fixedNow, Sendmail: path})
		err := d.Send(context.Background(), []Alert{plainAlert()})
		if err == nil || errors.As(err, &perm) != permanent || !strings.Contains(err.Error(), "sendmail: oops") {
			t.Errorf("exit %s: err %v, want permanent=%v with its stderr", code, err, permanent)
		}
	}
	d := mustNew(t, emailAlert(""), DestOptions{Now: fixedNow, Sendmail: filepath.Join(t.TempDir(), "missing")})
	if err := d.Send(context.Background(), []Alert{plainAlert()}); !errors.As(err, &perm) {
		t.Errorf("missing sendmail: err %v, want Permanent", err)
	}
}
