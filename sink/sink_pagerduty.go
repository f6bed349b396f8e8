package sink

import (
	"context"
	"strconv"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
)

// PagerDuty Events API v2 limits.
const (
	pdSummaryLimit  = 1024
	pdDedupKeyLimit = 255
)

// PagerDuty triggers one Events API v2 event per alert. The dedup_key is
// "<identity>/<rule>", so that repeated alerts of a rule on one machine
// join one open incident, and a retried batch does not open a second one.
type PagerDuty struct {
	httpPoster
	url        string
	routingKey string
	identity   string
	alertName  string
}

// NewPagerDuty needs a.RoutingKey (an Events API v2 integration key).
func NewPagerDuty(a config.Alert, opt DestOptions) (*PagerDuty, error) {
	if err := need(a, "routing_key", a.RoutingKey); err != nil {
		return nil, err
	}
	opt.defaults()
	return &PagerDuty{httpPoster: newPoster("pagerduty", a.Name, &opt), url: opt.PagerDutyURL,
		routingKey: a.RoutingKey, identity: opt.Identity, alertName: a.Name}, nil
}

type pdEvent struct {
	RoutingKey  string    `json:"routing_key"`
	EventAction string    `json:"event_action"`
	DedupKey    string    `json:"dedup_key"`
	Payload     pdPayload `json:"payload"`
}

type pdPayload struct {
	Summary       string    `json:"summary"`
	Source        string    `json:"source"`
	Severity      string    `json:"severity"`
	Timestamp     string    `json:"timestamp"`
	Component     string    `json:"component"`
	Group         string    `json:"group"`
	CustomDetails pdDetails `json:"custom_details"`
}

type pdDetails struct {
	Rule       string `json:"rule"`
	Line       string `json:"line"`
	Source     string `json:"source,omitempty"`
	AlertName  string `json:"alert_name"`
	Suppressed uint64 `json:"suppressed,omitempty"`
	Host       string `json:"host,omitempty"`
	App        string `json:"app,omitempty"`
}

// Send triggers one event per alert.
func (p *PagerDuty) Send(ctx context.Context, batch []Alert) error {
	for i := range batch {
		a := &batch[i]
		id := identityOf(a, p.identity)
		name := a.AlertName
		if name == "" {
			name = p.alertName
		}
		ev := pdEvent{
			RoutingKey:  p.routingKey,
			EventAction: "trigger",
			DedupKey:    truncate(id+"/"+a.Rule, pdDedupKeyLimit, runeLen),
			Payload: pdPayload{
				Summary:   plainText(a, p.identity, pdSummaryLimit, runeLen),
				Source:    id,
				Severity:  "error",
				Timestamp: timeOf(a, time.Now).Format(time.RFC3339),
				Component: "tinywatcher",
				Group:     a.Rule,
				CustomDetails: pdDetails{
					Rule: a.Rule, Line: a.Line, Source: a.Source, AlertName: name,
					Suppressed: a.Suppressed, Host: a.Host, App: a.App,
				},
			},
		}
		body := marshalJSON(ev)
		if err := p.post(ctx, p.url, "application/json", body, nil); err != nil {
			if len(batch) > 1 {
				return partial(wrapAt(err, i, len(batch)), i)
			}
			return err
		}
	}
	return nil
}

// wrapAt notes which alert of a batch failed; errors.As still finds a
// *RetryAfter or *Permanent inside.
func wrapAt(err error, i, n int) error {
	return &noteErr{err, " (alert " + strconv.Itoa(i+1) + " of " + strconv.Itoa(n) + ")"}
}

type noteErr struct {
	err  error
	note string
}

func (e *noteErr) Error() string { return e.err.Error() + e.note }
func (e *noteErr) Unwrap() error { return e.err }
