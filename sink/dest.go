package sink

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// Default service addresses; DestOptions overrides them for tests.
const (
	DefaultTelegramBase = "https://api.telegram.org"
	DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
	DefaultSendGridURL  = "https://api.sendgrid.com/v3/mail/send"
	DefaultNtfyServer   = "https://ntfy.sh"
)

// DestOptions are what destinations need besides their config.Alert. Zero
// values take defaults.
type DestOptions struct {
	// Client sends every HTTP request; default a client without timeout
	// (each Send's context bounds it). Share one: it is safe for concurrent use.
	Client *http.Client
	// Identity is used when an alert carries none, and as the domain of
	// e-mail Message-IDs.
	Identity string
	// Stdout is where a stdout destination writes; default os.Stdout.
	Stdout io.Writer

	TelegramBase string // default DefaultTelegramBase
	PagerDutyURL string // default DefaultPagerDutyURL
	SendGridURL  string // default DefaultSendGridURL
	NtfyServer   string // used when the alert has no server; default DefaultNtfyServer

	// Sendmail is the program an email destination without smtp_server
	// runs as `sendmail -t -i`; default the first of /usr/sbin/sendmail,
	// /usr/lib/sendmail and sendmail on $PATH.
	Sendmail string
	// SMTPTLS configures STARTTLS (RootCAs for tests); ServerName defaults
	// to the host of smtp_server.
	SMTPTLS *tls.Config

	// Now stamps e-mail Date headers; default time.Now.
	Now func() time.Time
	// UserAgent is sent with HTTP requests; default "TinyWatcher".
	UserAgent string
}

func (o *DestOptions) defaults() {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.TelegramBase == "" {
		o.TelegramBase = DefaultTelegramBase
	}
	if o.PagerDutyURL == "" {
		o.PagerDutyURL = DefaultPagerDutyURL
	}
	if o.SendGridURL == "" {
		o.SendGridURL = DefaultSendGridURL
	}
	if o.NtfyServer == "" {
		o.NtfyServer = DefaultNtfyServer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserAgent == "" {
		o.UserAgent = "TinyWatcher"
	}
}

// New builds the destination a.Type names: stdout, slack, discord,
// telegram, pagerduty, ntfy, webhook, email or sendgrid.
func New(a config.Alert, opt DestOptions) (Destination, error) {
	opt.defaults()
	switch a.Type {
	case "stdout":
		return NewStdout(opt.Stdout, a.Format), nil
	case "slack":
		return NewSlack(a, opt)
	case "discord":
		return NewDiscord(a, opt)
	case "telegram":
		return NewTelegram(a, opt)
	case "pagerduty":
		return NewPagerDuty(a, opt)
	case "ntfy":
		return NewNtfy(a, opt)
	case "webhook":
		return NewWebhook(a, opt)
	case "email":
		return NewEmail(a, opt)
	case "sendgrid":
		return NewSendGrid(a, opt)
	}
	return nil, fmt.Errorf("alert %q: unknown type %q; want one of stdout, slack, discord, telegram, pagerduty, ntfy, webhook, email, sendgrid", a.Name, a.Type)
}

// need returns an error naming the first empty key.
func need(a config.Alert, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			return fmt.Errorf("alert %q of type %s: missing %s", a.Name, a.Type, kv[i])
		}
	}
	return nil
}
