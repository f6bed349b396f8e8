package sink

import (
	"context"
	"time"
)

// Alert is one alert for one destination. It owns its strings: the
// matched line was copied (bounded) out of the block it came from.
type Alert struct {
	Time      time.Time
	Identity  string
	Rule      string
	Source    string // the source's name: a file path, container or stream name
	Line      string
	AlertName string // the destination's name under alerts:
	// Suppressed is the number of matches of the rule held back by its
	// cooldown or threshold since its previous alert.
	Suppressed uint64
	// Host and App come from syslog sources; empty elsewhere.
	Host string
	App  string
}

// Destination sends batches of alerts to one service.
//
// Send is called from one goroutine per destination, never concurrently for
// one destination. It returns nil when the service accepted the batch; an
// error wrapping a *RetryAfter when the service asked to wait; any other
// error is retried with backoff, and a Permanent one is not retried; a
// Partial one says how many alerts of the batch went out before it.
//
// The dispatcher reuses batch after Send returns: Send must not keep it.
// Send must return soon after ctx is done (the dispatcher's per-send
// timeout and Close depend on it).
type Destination interface {
	Send(ctx context.Context, batch []Alert) error
}

// RetryAfter is an error carrying the service's requested delay (HTTP 429
// or 503 with Retry-After).
type RetryAfter struct {
	Delay time.Duration
	Err   error
}

func (e *RetryAfter) Error() string { return e.Err.Error() + " (retry after " + e.Delay.String() + ")" }
func (e *RetryAfter) Unwrap() error { return e.Err }

// Permanent marks an error that retrying cannot fix (HTTP 400, a bad
// address); the batch is counted as failed at once.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// Partial is an error from a Send that delivered the first Sent alerts of
// its batch before failing (a destination that posts one request per
// alert or per message). The dispatcher counts those as sent and retries
// only the rest; errors.As still finds a *RetryAfter or *Permanent in Err.
type Partial struct {
	Sent int
	Err  error
}

func (e *Partial) Error() string { return e.Err.Error() }
func (e *Partial) Unwrap() error { return e.Err }

// DestinationFunc adapts a function to a Destination.
type DestinationFunc func(ctx context.Context, batch []Alert) error

// Send calls f.
func (f DestinationFunc) Send(ctx context.Context, batch []Alert) error { return f(ctx, batch) }
