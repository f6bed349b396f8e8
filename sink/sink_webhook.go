package sink

import (
	"context"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// Webhook POSTs one JSON object per alert to a.URL, as the original
// TinyWatcher did:
//
//	{"identity": …, "rule": …, "message": …, "timestamp": RFC 3339 UTC,
//	 "alert_name": …, "source": …, "suppressed": N, "host": …, "app": …}
//
// message is the matched line, with " (and N more)" when the rule held back
// N matches (also given as suppressed); source, host and app are omitted
// when empty, suppressed when 0.
type Webhook struct {
	httpPoster
	url       string
	identity  string
	alertName string
}

// NewWebhook needs a.URL.
func NewWebhook(a config.Alert, opt DestOptions) (*Webhook, error) {
	if err := need(a, "url", a.URL); err != nil {
		return nil, err
	}
	return &Webhook{httpPoster: newPoster("webhook", a.Name, &opt), url: a.URL, identity: opt.Identity, alertName: a.Name}, nil
}

// WebhookPayload is the JSON object the generic webhook posts.
type WebhookPayload struct {
	Identity   string `json:"identity"`
	Rule       string `json:"rule"`
	Message    string `json:"message"`
	Timestamp  string `json:"timestamp"`
	AlertName  string `json:"alert_name"`
	Source     string `json:"source,omitempty"`
	Suppressed uint64 `json:"suppressed,omitempty"`
	Host       string `json:"host,omitempty"`
	App        string `json:"app,omitempty"`
}

// Send posts one request per alert.
func (w *Webhook) Send(ctx context.Context, batch []Alert) error {
	for i := range batch {
		a := &batch[i]
		name := a.AlertName
		if name == "" {
			name = w.alertName
		}
		body := marshalJSON(WebhookPayload{
			Identity:   identityOf(a, w.identity),
			Rule:       a.Rule,
			Message:    a.Line + andMore(a),
			Timestamp:  timeOf(a, time.Now).Format(time.RFC3339),
			AlertName:  name,
			Source:     a.Source,
			Suppressed: a.Suppressed,
			Host:       a.Host,
			App:        a.App,
		})
		if err := w.post(ctx, w.url, "application/json", body, nil); err != nil {
			if len(batch) > 1 {
				return partial(wrapAt(err, i, len(batch)), i)
			}
			return err
		}
	}
	return nil
}
