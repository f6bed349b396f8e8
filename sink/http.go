package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// errBodyBytes is how much of an error response's body an error quotes.
const errBodyBytes = 256

// httpPoster is embedded by the HTTP destinations.
type httpPoster struct {
	client    *http.Client
	userAgent string
	what      string // "slack \"oncall\"", for error text
	now       func() time.Time
	// bodyRetryAfter, when set, reads a delay from a 429/503 body that
	// has no Retry-After header (Telegram's parameters.retry_after).
	bodyRetryAfter func(body []byte) (time.Duration, bool)
}

func newPoster(kind, name string, opt *DestOptions) httpPoster {
	opt.defaults()
	return httpPoster{client: opt.Client, userAgent: opt.UserAgent, what: kind + " " + strconv.Quote(name), now: time.Now}
}

// post sends body to u and maps the outcome with checkResponse. The URL may
// hold a secret (webhook token, bot token): errors show only its host.
func (p *httpPoster) post(ctx context.Context, u, contentType string, body []byte, hdr http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return &Permanent{fmt.Errorf("cannot send to %s: bad URL %s: %w", p.what, redactURL(u), redactErr(err, u))}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", p.userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot send to %s: %w", p.what, redactErr(err, u))
	}
	defer resp.Body.Close()
	if err := checkResponse(resp, p.now(), p.bodyRetryAfter); err != nil {
		return fmt.Errorf("cannot send to %s: %w", p.what, err)
	}
	// Drain a little so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// checkResponse maps an HTTP response to the Destination error contract:
// 2xx is nil; 429 and 503 are a *RetryAfter (with the Retry-After header's
// delay, in seconds or as an HTTP date, else 0); 408 and other 5xx are
// retried; any other status is *Permanent. Errors quote the status and the
// first bytes of the body.
func checkResponse(resp *http.Response, now time.Time, bodyRetryAfter func([]byte) (time.Duration, bool)) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyBytes))
	err := fmt.Errorf("HTTP %s", resp.Status)
	if s := strings.TrimSpace(string(bytes.ToValidUTF8(b, []byte("?")))); s != "" {
		err = fmt.Errorf("HTTP %s: %s", resp.Status, s)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if !ok && bodyRetryAfter != nil {
			d, _ = bodyRetryAfter(b)
		}
		return &RetryAfter{Delay: d, Err: err}
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return err
	}
	return &Permanent{err}
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). A date in the past is 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// redactURL keeps a URL's scheme and host: webhook URLs carry their secret
// in the path.
func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return "<redacted URL>"
	}
	return pu.Scheme + "://" + pu.Host + "/…"
}

// redactErr removes the full URL from net/http errors.
func redactErr(err error, u string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	if u != "" && strings.Contains(err.Error(), u) {
		return errors.New(strings.ReplaceAll(err.Error(), u, redactURL(u)))
	}
	return err
}
