package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// Email sends one message per batch, through a.SMTPServer (host:port; with
// STARTTLS when the server offers it, implicit TLS on port 465; no SMTP
// authentication, as the config has no credentials) or, without it, by
// piping the message to the local `sendmail -t -i`.
type Email struct {
	name     string
	from     string   // as configured, for the From header
	to       []string // as configured, for the To header
	envFrom  string
	rcpt     []string
	server   string
	sendmail string
	tls      *tls.Config
	identity string
	now      func() time.Time
}

// NewEmail needs a.From and a.To.
func NewEmail(a config.Alert, opt DestOptions) (*Email, error) {
	if err := need(a, "from", a.From); err != nil {
		return nil, err
	}
	envFrom, rcpt, err := parseAddrs(a.From, a.To)
	if err != nil {
		return nil, fmt.Errorf("alert %q of type email: %w", a.Name, err)
	}
	opt.defaults()
	e := &Email{name: a.Name, from: a.From, to: a.To, envFrom: envFrom, rcpt: rcpt,
		server: a.SMTPServer, sendmail: opt.Sendmail, tls: opt.SMTPTLS, identity: opt.Identity, now: opt.Now}
	if e.server != "" {
		if _, _, err := net.SplitHostPort(e.server); err != nil {
			return nil, fmt.Errorf("alert %q of type email: smtp_server %q is not host:port: %w", a.Name, e.server, err)
		}
	}
	return e, nil
}

// Send mails the batch.
func (e *Email) Send(ctx context.Context, batch []Alert) error {
	msg := mailMessage(e.from, e.to, batch, e.identity, e.now)
	var err error
	if e.server != "" {
		err = e.sendSMTP(ctx, msg)
	} else {
		err = e.sendSendmail(ctx, bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	}
	if err != nil {
		return fmt.Errorf("cannot send email %q: %w", e.name, err)
	}
	return nil
}

func (e *Email) sendSMTP(ctx context.Context, msg []byte) (err error) {
	host, port, _ := net.SplitHostPort(e.server)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.server)
	if err != nil {
		return err
	}
	// The SMTP client knows no context: close the connection when ctx ends.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	cfg := &tls.Config{}
	if e.tls != nil {
		cfg = e.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if port == "465" {
		conn = tls.Client(conn, cfg)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr(ctx, err)
	}
	defer c.Close()
	// RFC 5321 wants our name in EHLO; net/smtp would say "localhost".
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		if err := c.Hello(h); err != nil {
			return smtpErr(ctx, err)
		}
	}
	if ok, _ := c.Extension("STARTTLS"); ok && port != "465" {
		if err := c.StartTLS(cfg); err != nil {
			return smtpErr(ctx, fmt.Errorf("STARTTLS: %w", err))
		}
	}
	if err := c.Mail(e.envFrom); err != nil {
		return smtpErr(ctx, err)
	}
	for _, r := range e.rcpt {
		if err := c.Rcpt(r); err != nil {
			return smtpErr(ctx, fmt.Errorf("RCPT TO %s: %w", r, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(ctx, err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr(ctx, err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(ctx, err)
	}
	c.Quit()
	return nil
}

// smtpErr makes a 5xx reply Permanent; 4xx and I/O errors are retried.
func smtpErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &Permanent{err}
	}
	return err
}

// sendmailPath finds the sendmail program.
func (e *Email) sendmailPath() (string, error) {
	if e.sendmail != "" {
		return e.sendmail, nil
	}
	for _, p := range []string{"/usr/sbin/sendmail", "/usr/lib/sendmail"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath("sendmail")
}

// sendSendmail pipes msg to `sendmail -t -i`: recipients come from the
// headers, and a line with a lone dot does not end the message.
func (e *Email) sendSendmail(ctx context.Context, msg []byte) error {
	path, err := e.sendmailPath()
	if err != nil {
		return &Permanent{fmt.Errorf("no smtp_server configured and no sendmail program found: %w", err)}
	}
	cmd := exec.CommandContext(ctx, path, "-t", "-i")
	cmd.Stdin = bytes.NewReader(msg)
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		err = fmt.Errorf("%s -t -i: %w", path, err)
		if s := strings.TrimSpace(out.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, s)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			switch ee.ExitCode() {
			case 64, 65, 67, 68: // sysexits EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOHOST
				return &Permanent{err}
			}
		}
		var pe *os.PathError
		if errors.As(err, &pe) && ctx.Err() == nil {
			return &Permanent{err}
		}
		return err
	}
	return nil
}

// limitedBuffer keeps the first errBodyBytes written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if n := errBodyBytes - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return strconv.Quote(string(l.b)) }
