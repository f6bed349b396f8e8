package sink

import (
	"context"
	"strings"

	"github.com/tinywatcher/tinywatcher/config"
)

// Slack limits: a message's text is truncated by Slack beyond 40,000
// characters; one alert is kept to 3,000 so that a batch shows many.
const (
	slackTextLimit  = 40000
	slackAlertLimit = 3000
)

// Slack posts to a Slack incoming webhook: {"text": …} in mrkdwn, one
// message per batch (more when the batch exceeds Slack's limit).
type Slack struct {
	httpPoster
	url      string
	identity string
}

// NewSlack needs a.URL, the incoming webhook.
func NewSlack(a config.Alert, opt DestOptions) (*Slack, error) {
	if err := need(a, "url", a.URL); err != nil {
		return nil, err
	}
	return &Slack{httpPoster: newPoster("slack", a.Name, &opt), url: a.URL, identity: opt.Identity}, nil
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, which
// also keeps a log line from pinging <!channel>.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Send posts the batch.
func (s *Slack) Send(ctx context.Context, batch []Alert) error {
	texts := make([]string, len(batch))
	for i := range batch {
		texts[i] = slackEscape.Replace(plainText(&batch[i], s.identity, slackAlertLimit, runeLen))
	}
	sent := 0
	for _, msg := range pack(texts, "\n", slackTextLimit, runeLen) {
		body := marshalJSON(struct {
			Text string `json:"text"`
		}{msg.text})
		if err := s.post(ctx, s.url, "application/json", body, nil); err != nil {
			return partial(err, sent)
		}
		sent += msg.n
	}
	return nil
}
