package sink

import (
	"context"

	"github.com/tinywatcher/tinywatcher/config"
)

// discordLimit is the 2,000 characters Discord allows in content.
const discordLimit = 2000

// Discord posts to a Discord webhook: {"content": …}, as many alerts per
// message as fit in 2,000 characters. Mentions in log lines are disabled
// (allowed_mentions with an empty parse list).
type Discord struct {
	httpPoster
	url      string
	identity string
}

// NewDiscord needs a.URL, the webhook.
func NewDiscord(a config.Alert, opt DestOptions) (*Discord, error) {
	if err := need(a, "url", a.URL); err != nil {
		return nil, err
	}
	return &Discord{httpPoster: newPoster("discord", a.Name, &opt), url: a.URL, identity: opt.Identity}, nil
}

type discordMessage struct {
	Content         string `json:"content"`
	AllowedMentions struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
}

// Send posts the batch in one message or more.
func (d *Discord) Send(ctx context.Context, batch []Alert) error {
	texts := make([]string, len(batch))
	for i := range batch {
		texts[i] = plainText(&batch[i], d.identity, discordLimit, utf16Len)
	}
	sent := 0
	for _, msg := range pack(texts, "\n", discordLimit, utf16Len) {
		m := discordMessage{Content: msg.text}
		m.AllowedMentions.Parse = []string{}
		body := marshalJSON(m)
		if err := d.post(ctx, d.url, "application/json", body, nil); err != nil {
			return partial(err, sent)
		}
		sent += msg.n
	}
	return nil
}
