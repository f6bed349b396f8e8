package sink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tinywatcher/tinywatcher/config"
)

// recorded is one request a fake service received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// fakeService is an HTTP server that records requests and answers with
// respond (200 when nil).
type fakeService struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	respond func(n int, w http.ResponseWriter)
}

func newFakeService(t *testing.T, respond func(n int, w http.ResponseWriter)) *fakeService {
	t.Helper()
	f := &fakeService{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		f.mu.Unlock()
		if f.respond != nil {
			f.respond(n, w)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeService) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeService) opts() DestOptions {
	return DestOptions{
		Client:       f.Client(),
		Identity:     "default-id",
		TelegramBase: f.URL,
		PagerDutyURL: f.URL + "/v2/enqueue",
		SendGridURL:  f.URL + "/v3/mail/send",
		NtfyServer:   f.URL,
		Now:          func() time.Time { return time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC) },
	}
}

func sampleAlert() Alert {
	return Alert{
		Time:       time.Date(2026, 11, 23, 22, 0, 0, 0, time.FixedZone("CET", 3600)),
		Identity:   "web-1",
		Rule:       "db_down",
		Source:     "/var/log/app.log",
		Line:       `psycopg2.OperationalError: could not connect to <db> & "retry"`,
		AlertName:  "oncall",
		Suppressed: 41,
	}
}

func plainAlert() Alert {
	return Alert{Time: time.Date(2026, 11, 23, 21, 0, 1, 0, time.UTC), Identity: "web-1", Rule: "disk_full", Line: "no space left on device", AlertName: "oncall"}
}

func mustNew(t *testing.T, a config.Alert, opt DestOptions) Destination {
	t.Helper()
	d, err := New(a, opt)
	if err != nil {
		t.Fatalf("New(%+v): %v", a, err)
	}
	return d
}

// checkReq compares one request with what the service documents.
func checkReq(t *testing.T, got recorded, path, contentType, body string) {
	t.Helper()
	if got.Method != http.MethodPost {
		t.Errorf("method %s, want POST", got.Method)
	}
	if got.Path != path {
		t.Errorf("path %q, want %q", got.Path, path)
	}
	if ct := got.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("Content-Type %q, want %q", ct, contentType)
	}
	if ua := got.Header.Get("User-Agent"); ua != "TinyWatcher" {
		t.Errorf("User-Agent %q", ua)
	}
	if got.Body != body {
		t.Errorf("body\n got %s\nwant %s", got.Body, body)
	}
}

func TestSlackPayload(t *testing.T) {
	f := newFakeService(t, nil)
	d := mustNew(t, config.Alert{Name: "oncall", Type: "slack", URL: f.URL + "/services/T0/B0/XXXX"}, f.opts())
	if err := d.Send(context.Background(), []Alert{sampleAlert(), plainAlert()}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	checkReq(t, reqs[0], "/services/T0/B0/XXXX", "application/json",
		`{"text":"[web-1] db_down (/var/log/app.log): psycopg2.OperationalError: could not connect to &lt;db&gt; &amp; \"retry\" (and 41 more)\n[web-1] disk_full: no space left on device"}`)
}

func TestSlackTruncation(t *testing.T) {
	f := newFakeService(t, nil)
	d := mustNew(t, config.Alert{Name: "oncall", Type: "slack", URL: f.URL + "/hook"}, f.opts())
	long := plainAlert()
	long.Line = strings.Repeat("é", 5000)
	batch := make([]Alert, 30)
	for i := range batch {
		batch[i] = long
	}
	if err := d.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	// 13 alerts of 3,000 characters fit in 40,000.
	if len(reqs) != 3 {
		t.Fatalf("%d messages, want 3", len(reqs))
	}
	for _, r := range reqs {
		text := strings.TrimSuffix(strings.TrimPrefix(r.Body, `{"text":"`), `"}`)
		text = strings.ReplaceAll(text, `\n`, "\n")
		if n := utf8.RuneCountInString(text); n > slackTextLimit {
			t.Fatalf("message of %d characters", n)
		}
		for _, line := range strings.Split(text, "\n") {
			if n := utf8.RuneCountInString(line); n != slackAlertLimit || !strings.HasSuffix(line, "é…") {
				t.Fatalf("alert of %d characters, want %d ending in …", n, slackAlertLimit)
			}
		}
	}
}

func TestDiscordPayloadAndPacking(t *testing.T) {
	f := newFakeService(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) })
	d := mustNew(t, config.Alert{Name: "ops", Type: "discord", URL: f.URL + "/api/webhooks/1/tok"}, f.opts())
	a := plainAlert()
	a.Line = "@everyone db is down"
	if err := d.Send(context.Background(), []Alert{a}); err != nil {
		t.Fatal(err)
	}
	checkReq(t, f.requests()[0], "/api/webhooks/1/tok", "application/json",
		`{"content":"[web-1] disk_full: @everyone db is down","allowed_mentions":{"parse":[]}}`)

	// Five alerts of ~900 characters: two per 2,000-character message.
	a.Line = strings.Repeat("🔥", 440) // 880 UTF-16 units
	batch := []Alert{a, a, a, a, a}
	if err := d.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()[1:]
	if len(reqs) != 3 {
		t.Fatalf("%d messages, want 3", len(reqs))
	}
	for i, want := range []int{2, 2, 1} {
		if n := strings.Count(reqs[i].Body, "disk_full"); n != want {
			t.Errorf("message %d holds %d alerts, want %d", i, n, want)
		}
	}
	// One huge alert is cut to 2,000 UTF-16 units.
	a.Line = strings.Repeat("🔥", 3000)
	if err := d.Send(context.Background(), []Alert{a}); err != nil {
		t.Fatal(err)
	}
	last := f.requests()[4].Body
	content := last[len(`{"content":"`):strings.Index(last, `","allowed`)]
	if n := utf16Len(content); n > discordLimit || n < discordLimit-2 || !strings.HasSuffix(content, "…") {
		t.Fatalf("content of %d UTF-16 units", n)
	}
}

func TestTelegramPayload(t *testing.T) {
	f := newFakeService(t, nil)
	d := mustNew(t, config.Alert{Name: "tg", Type: "telegram", BotToken: "123456:ABC-DEF", ChatID: "-1001234567890"}, f.opts())
	if err := d.Send(context.Background(), []Alert{plainAlert(), sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	checkReq(t, f.requests()[0], "/bot123456:ABC-DEF/sendMessage", "application/json",
		`{"chat_id":"-1001234567890","text":"[web-1] disk_full: no space left on device\n\n[web-1] db_down (/var/log/app.log): psycopg2.OperationalError: could not connect to <db> & \"retry\" (and 41 more)"}`)
}

func TestTelegramRetryAfterInBodyAndSecretKept(t *testing.T) {
	f := newFakeService(t, func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`)
	})
	d := mustNew(t, config.Alert{Name: "tg", Type: "telegram", BotToken: "123456:SECRET", ChatID: "42"}, f.opts())
	err := d.Send(context.Background(), []Alert{plainAlert()})
	var ra *RetryAfter
	if !errors.As(err, &ra) || ra.Delay != 7*time.Second {
		t.Fatalf("err %v, want RetryAfter 7s", err)
	}
	// A network error must not show the bot token in the URL.
	f.Close()
	err = d.Send(context.Background(), []Alert{plainAlert()})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err %v: leaks the token or is nil", err)
	}
}

func TestPagerDutyPayload(t *testing.T) {
	f := newFakeService(t, func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"web-1/db_down"}`)
	})
	d := mustNew(t, config.Alert{Name: "pd", Type: "pagerduty", RoutingKey: "R0UT1NGKEY"}, f.opts())
	b := plainAlert()
	b.Identity = ""
	b.AlertName = ""
	if err := d.Send(context.Background(), []Alert{sampleAlert(), b}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d events, want one per alert", len(reqs))
	}
	checkReq(t, reqs[0], "/v2/enqueue", "application/json",
		`{"routing_key":"R0UT1NGKEY","event_action":"trigger","dedup_key":"web-1/db_down","payload":{"summary":"[web-1] db_down (/var/log/app.log): psycopg2.OperationalError: could not connect to <db> & \"retry\" (and 41 more)","source":"web-1","severity":"error","timestamp":"2026-11-23T21:00:00Z","component":"tinywatcher","group":"db_down","custom_details":{"rule":"db_down","line":"psycopg2.OperationalError: could not connect to <db> & \"retry\"","source":"/var/log/app.log","alert_name":"oncall","suppressed":41}}}`)
	checkReq(t, reqs[1], "/v2/enqueue", "application/json",
		`{"routing_key":"R0UT1NGKEY","event_action":"trigger","dedup_key":"default-id/disk_full","payload":{"summary":"[default-id] disk_full: no space left on device","source":"default-id","severity":"error","timestamp":"2026-11-23T21:00:01Z","component":"tinywatcher","group":"disk_full","custom_details":{"rule":"disk_full","line":"no space left on device","alert_name":"pd"}}}`)
}

func TestPagerDutySummaryLimitAndPartial(t *testing.T) {
	f := newFakeService(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid"}`)
		}
	})
	d := mustNew(t, config.Alert{Name: "pd", Type: "pagerduty", RoutingKey: "K"}, f.opts())
	a := plainAlert()
	a.Line = strings.Repeat("x", 5000)
	err := d.Send(context.Background(), []Alert{a, a, a})
	var part *Partial
	var perm *Permanent
	if !errors.As(err, &part) || part.Sent != 1 || !errors.As(err, &perm) {
		t.Fatalf("err %v, want Partial{Sent:1} around a Permanent", err)
	}
	if !strings.Contains(err.Error(), "HTTP 400 Bad Request: {\"status\":\"invalid event\"") || !strings.Contains(err.Error(), "alert 2 of 3") {
		t.Fatalf("err text %q", err)
	}
	body := f.requests()[0].Body
	i := strings.Index(body, `"summary":"`) + len(`"summary":"`)
	summary := body[i : i+strings.Index(body[i:], `"`)]
	if n := utf8.RuneCountInString(summary); n != pdSummaryLimit {
		t.Fatalf("summary of %d characters, want %d", n, pdSummaryLimit)
	}
}

func TestNtfyPayload(t *testing.T) {
	f := newFakeService(t, nil)
	d := mustNew(t, config.Alert{Name: "phone", Type: "ntfy", Topic: "tw-alerts", Server: f.URL + "/"}, DestOptions{Client: f.Client()})
	if err := d.Send(context.Background(), []Alert{sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	checkReq(t, r, "/tw-alerts", "text/plain; charset=utf-8",
		`[web-1] db_down (/var/log/app.log): psycopg2.OperationalError: could not connect to <db> & "retry" (and 41 more)`)
	for k, v := range map[string]string{"Title": "TinyWatcher: db_down", "Tags": "rotating_light,warning", "Priority": "high"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	// Several rules: a generic title; bodies stay within 4,096 bytes.
	a := plainAlert()
	a.Line = strings.Repeat("ü", 3000) // 6,000 bytes
	if err := d.Send(context.Background(), []Alert{a, sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()[1:]
	if len(reqs) != 2 || reqs[0].Header.Get("Title") != "TinyWatcher: alerts from web-1" {
		t.Fatalf("%d requests, title %q", len(reqs), reqs[0].Header.Get("Title"))
	}
	if n := len(reqs[0].Body); n > ntfyLimit || !utf8.ValidString(reqs[0].Body) {
		t.Fatalf("body of %d bytes", n)
	}
}

func TestNtfyDefaultServer(t *testing.T) {
	d, err := NewNtfy(config.Alert{Name: "n", Type: "ntfy", Topic: "t"}, DestOptions{})
	if err != nil || d.url != "https://ntfy.sh/t" {
		t.Fatalf("url %q, err %v", d.url, err)
	}
}

func TestWebhookPayload(t *testing.T) {
	f := newFakeService(t, nil)
	d := mustNew(t, config.Alert{Name: "hook", Type: "webhook", URL: f.URL + "/alerts?k=v"}, f.opts())
	b := plainAlert()
	b.Host, b.App, b.AlertName = "db-3", "postgres", ""
	if err := d.Send(context.Background(), []Alert{sampleAlert(), b}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want one per alert", len(reqs))
	}
	checkReq(t, reqs[0], "/alerts", "application/json",
		`{"identity":"web-1","rule":"db_down","message":"psycopg2.OperationalError: could not connect to <db> & \"retry\" (and 41 more)","timestamp":"2026-11-23T21:00:00Z","alert_name":"oncall","source":"/var/log/app.log","suppressed":41}`)
	checkReq(t, reqs[1], "/alerts", "application/json",
		`{"identity":"web-1","rule":"disk_full","message":"no space left on device","timestamp":"2026-11-23T21:00:01Z","alert_name":"hook","host":"db-3","app":"postgres"}`)
}

func TestSendGridPayload(t *testing.T) {
	f := newFakeService(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) })
	d := mustNew(t, config.Alert{Name: "sg", Type: "sendgrid", APIKey: "SG.key", From: "TinyWatcher <tw@example.com>", To: []string{"a@example.com", "b@example.com"}}, f.opts())
	if err := d.Send(context.Background(), []Alert{sampleAlert(), plainAlert()}); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if got := r.Header.Get("Authorization"); got != "Bearer SG.key" {
		t.Errorf("Authorization %q", got)
	}
	checkReq(t, r, "/v3/mail/send", "application/json",
		`{"personalizations":[{"to":[{"email":"a@example.com"},{"email":"b@example.com"}]}],"from":{"email":"tw@example.com"},"subject":"[TinyWatcher] web-1: db_down, disk_full (2 alerts)","content":[{"type":"text/plain","value":"`+
			`TinyWatcher: 2 alerts from web-1\n\nRule:   db_down\nTime:   2026-11-23T21:00:00Z\nSource: /var/log/app.log\nLine:   psycopg2.OperationalError: could not connect to <db> & \"retry\" (and 41 more)\n\nRule:   disk_full\nTime:   2026-11-23T21:00:01Z\nLine:   no space left on device\n"}]}`)
}

func TestHTTPStatusHandling(t *testing.T) {
	now := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		status    int
		header    string
		body      string
		retry     bool
		permanent bool
		delay     time.Duration
	}{
		{"ok", 200, "", "", false, false, 0},
		{"accepted", 202, "", "", false, false, 0},
		{"429 seconds", 429, "120", "slow down", true, false, 120 * time.Second},
		{"429 date", 429, now.Add(90 * time.Second).Format(http.TimeFormat), "", true, false, 90 * time.Second},
		{"429 past date", 429, now.Add(-time.Hour).Format(http.TimeFormat), "", true, false, 0},
		{"503 no header", 503, "", "", true, false, 0},
		{"500", 500, "", "oops", false, false, 0},
		{"400", 400, "", strings.Repeat("b", 1000), false, true, 0},
		{"404", 404, "", "no_service", false, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeService(t, func(_ int, w http.ResponseWriter) {
				if c.header != "" {
					w.Header().Set("Retry-After", c.header)
				}
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			wh, _ := NewWebhook(config.Alert{Name: "w", Type: "webhook", URL: f.URL}, f.opts())
			wh.now = func() time.Time { return now }
			err := wh.Send(context.Background(), []Alert{plainAlert()})
			if (c.status < 300) != (err == nil) {
				t.Fatalf("err %v", err)
			}
			if err == nil {
				return
			}
			var ra *RetryAfter
			var perm *Permanent
			if errors.As(err, &ra) != c.retry || errors.As(err, &perm) != c.permanent {
				t.Fatalf("err %v (%T): retry-after %v, permanent %v", err, err, errors.As(err, &ra), errors.As(err, &perm))
			}
			if c.retry && ra.Delay != c.delay {
				t.Fatalf("delay %v, want %v", ra.Delay, c.delay)
			}
			if c.status == 400 && !strings.HasSuffix(err.Error(), "HTTP 400 Bad Request: "+strings.Repeat("b", errBodyBytes)) {
				t.Fatalf("err %q lacks the first %d bytes of the body", err, errBodyBytes)
			}
		})
	}
}

// TestRetryThroughDispatcher: a 500 then a 200 delivers once.
func TestRetryThroughDispatcher(t *testing.T) {
	f := newFakeService(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	d := NewDispatcher(map[string]Destination{"w": mustNew(t, config.Alert{Name: "w", Type: "webhook", URL: f.URL}, f.opts())},
		Options{RetryBase: time.Millisecond, Logger: quietLogger()})
	a := plainAlert()
	a.AlertName = "w"
	d.Enqueue(a)
	mustClose(t, d)
	if st := d.Stats()["w"]; st.Sent != 1 || st.Retried != 1 || len(f.requests()) != 2 {
		t.Fatalf("stats %+v, %d requests", st, len(f.requests()))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0": 0, " 5 ": 5 * time.Second, "Mon, 23 Nov 2026 23:01:00 GMT": time.Minute,
		"Monday, 23-Nov-26 23:00:30 GMT": 30 * time.Second, // RFC 850
		"Mon Nov 23 23:00:10 2026":       10 * time.Second, // asctime
	} {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("parseRetryAfter(%q) ok", in)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, a := range []config.Alert{
		{Name: "x", Type: "carrier-pigeon"},
		{Name: "x", Type: "slack"},
		{Name: "x", Type: "telegram", BotToken: "t"},
		{Name: "x", Type: "pagerduty"},
		{Name: "x", Type: "ntfy"},
		{Name: "x", Type: "email", From: "a@b"},
		{Name: "x", Type: "email", From: "not an address", To: []string{"a@b"}},
		{Name: "x", Type: "email", From: "a@b", To: []string{"c@d"}, SMTPServer: "nohostport"},
		{Name: "x", Type: "sendgrid", From: "a@b", To: []string{"c@d"}},
	} {
		if _, err := New(a, DestOptions{}); err == nil || !strings.Contains(err.Error(), `"x"`) {
			t.Errorf("New(%+v): err %v, want one naming the alert", a, err)
		}
	}
	for _, typ := range []string{"stdout"} {
		if _, err := New(config.Alert{Name: "x", Type: typ}, DestOptions{}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func TestTruncateAndPack(t *testing.T) {
	if got := truncate("héllo wörld", 6, runeLen); got != "héllo…" {
		t.Errorf("truncate runes: %q", got)
	}
	if got := truncate("ab🔥cd", 4, utf16Len); got != "ab…" {
		t.Errorf("truncate UTF-16: %q", got)
	}
	if got := truncate("üüü", 4, byteLen); got != "" && len(got) > 4 {
		t.Errorf("truncate bytes: %q", got)
	}
	if got := truncate("short", 10, runeLen); got != "short" {
		t.Errorf("truncate no-op: %q", got)
	}
	msgs := pack([]string{"aaaa", "bbbb", "cccc", strings.Repeat("d", 20)}, "\n", 10, runeLen)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.text)
	}
	if got := strings.Join(texts, "|"); got != "aaaa\nbbbb|cccc|ddddddddd…" {
		t.Errorf("pack: %q", got)
	}
}
