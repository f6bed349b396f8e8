package sink

import (
	"context"
	"net/http"
	"strings"

	"github.com/tinywatcher/tinywatcher/config"
)

// ntfyLimit is the body size ntfy.sh keeps as a message (4,096 bytes);
// longer bodies would become attachments.
const ntfyLimit = 4096

// Ntfy publishes to <server>/<topic>: a plain-text body with the Title,
// Tags and Priority headers, as many alerts per message as fit.
type Ntfy struct {
	httpPoster
	url      string
	identity string
}

// NewNtfy needs a.Topic; a.Server defaults to https://ntfy.sh.
func NewNtfy(a config.Alert, opt DestOptions) (*Ntfy, error) {
	if err := need(a, "topic", a.Topic); err != nil {
		return nil, err
	}
	opt.defaults()
	server := a.Server
	if server == "" {
		server = opt.NtfyServer
	}
	return &Ntfy{httpPoster: newPoster("ntfy", a.Name, &opt),
		url: strings.TrimRight(server, "/") + "/" + strings.TrimLeft(a.Topic, "/"), identity: opt.Identity}, nil
}

// Send publishes the batch in one message or more.
func (n *Ntfy) Send(ctx context.Context, batch []Alert) error {
	texts := make([]string, len(batch))
	rule := ""
	for i := range batch {
		texts[i] = plainText(&batch[i], n.identity, ntfyLimit, byteLen)
		if i == 0 {
			rule = batch[i].Rule
		} else if batch[i].Rule != rule {
			rule = ""
		}
	}
	title := "TinyWatcher: " + rule
	if rule == "" {
		title = "TinyWatcher: alerts from " + identityOf(&batch[0], n.identity)
	}
	hdr := http.Header{
		// Header values must be one line; ntfy decodes RFC 2047 when needed.
		"Title":    {headerSafe(title)},
		"Tags":     {"rotating_light,warning"},
		"Priority": {"high"},
	}
	sent := 0
	for _, msg := range pack(texts, "\n\n", ntfyLimit, byteLen) {
		if err := n.post(ctx, n.url, "text/plain; charset=utf-8", []byte(msg.text), hdr); err != nil {
			return partial(err, sent)
		}
		sent += msg.n
	}
	return nil
}

// headerSafe makes s a valid one-line header value: control characters
// become spaces, and non-ASCII text is RFC 2047 encoded.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return mimeQ(s)
}
