package sink

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// telegramLimit is the 4,096 characters (UTF-16 code units) of sendMessage.
const telegramLimit = 4096

// Telegram sends with the Bot API's sendMessage: POST
// <base>/bot<token>/sendMessage {"chat_id", "text"}, plain text, as many
// alerts per message as fit.
type Telegram struct {
	httpPoster
	url      string
	chatID   string
	identity string
}

// NewTelegram needs a.BotToken and a.ChatID (a number or "@channel").
func NewTelegram(a config.Alert, opt DestOptions) (*Telegram, error) {
	if err := need(a, "bot_token", a.BotToken, "chat_id", a.ChatID); err != nil {
		return nil, err
	}
	opt.defaults()
	p := newPoster("telegram", a.Name, &opt)
	p.bodyRetryAfter = telegramRetryAfter
	return &Telegram{
		httpPoster: p,
		url:        strings.TrimRight(opt.TelegramBase, "/") + "/bot" + a.BotToken + "/sendMessage",
		chatID:     a.ChatID,
		identity:   opt.Identity,
	}, nil
}

// Send posts the batch in one message or more.
func (t *Telegram) Send(ctx context.Context, batch []Alert) error {
	texts := make([]string, len(batch))
	for i := range batch {
		texts[i] = plainText(&batch[i], t.identity, telegramLimit, utf16Len)
	}
	sent := 0
	for _, msg := range pack(texts, "\n\n", telegramLimit, utf16Len) {
		body := marshalJSON(struct {
			ChatID string `json:"chat_id"`
			Text   string `json:"text"`
		}{t.chatID, msg.text})
		if err := t.post(ctx, t.url, "application/json", body, nil); err != nil {
			return partial(err, sent)
		}
		sent += msg.n
	}
	return nil
}

// telegramRetryAfter reads {"parameters":{"retry_after":N}} (seconds) from
// a 429 answer of the Bot API.
func telegramRetryAfter(body []byte) (time.Duration, bool) {
	var r struct {
		Parameters struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &r) != nil || r.Parameters.RetryAfter <= 0 {
		return 0, false
	}
	return time.Duration(r.Parameters.RetryAfter) * time.Second, true
}
