package sink

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// SendGrid sends one mail per batch with the v3 Mail Send API: POST
// https://api.sendgrid.com/v3/mail/send with "Authorization: Bearer
// <api_key>"; SendGrid answers 202 Accepted.
type SendGrid struct {
	httpPoster
	url      string
	apiKey   string
	from     string
	to       []string
	identity string
	now      func() time.Time
}

// NewSendGrid needs a.APIKey, a.From and a.To.
func NewSendGrid(a config.Alert, opt DestOptions) (*SendGrid, error) {
	if err := need(a, "api_key", a.APIKey, "from", a.From); err != nil {
		return nil, err
	}
	from, to, err := parseAddrs(a.From, a.To)
	if err != nil {
		return nil, fmt.Errorf("alert %q of type sendgrid: %w", a.Name, err)
	}
	opt.defaults()
	return &SendGrid{httpPoster: newPoster("sendgrid", a.Name, &opt), url: opt.SendGridURL,
		apiKey: a.APIKey, from: from, to: to, identity: opt.Identity, now: opt.Now}, nil
}

type sgAddr struct {
	Email string `json:"email"`
}

type sgMail struct {
	Personalizations []struct {
		To []sgAddr `json:"to"`
	} `json:"personalizations"`
	From    sgAddr `json:"from"`
	Subject string `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
}

// Send mails the batch.
func (s *SendGrid) Send(ctx context.Context, batch []Alert) error {
	var m sgMail
	m.Personalizations = make([]struct {
		To []sgAddr `json:"to"`
	}, 1)
	for _, t := range s.to {
		m.Personalizations[0].To = append(m.Personalizations[0].To, sgAddr{t})
	}
	m.From = sgAddr{s.from}
	m.Subject = oneLine(mailSubject(batch, s.identity))
	m.Content = make([]struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}, 1)
	m.Content[0].Type = "text/plain"
	m.Content[0].Value = mailBody(batch, s.identity, s.now)
	body := marshalJSON(m)
	return s.post(ctx, s.url, "application/json", body, http.Header{"Authorization": {"Bearer " + s.apiKey}})
}
