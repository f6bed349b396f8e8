package ingest

import (
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect policy of stream sources: exponential from Base
// with full jitter in [d/2, d], capped at Max, and reset once a connection
// stayed healthy for Healthy. Not safe for concurrent use.
type Backoff struct {
	Base    time.Duration // the configured reconnect_delay; default 5s
	Max     time.Duration // default 5m, and never below Base
	Healthy time.Duration // default 30s

	attempt int
}

// Next returns how long to wait before the next connect attempt, given how
// long the previous connection lasted (0 if it never came up).
func (b *Backoff) Next(lasted time.Duration) time.Duration {
	base, maxd, healthy := b.Base, b.Max, b.Healthy
	if base <= 0 {
		base = 5 * time.Second
	}
	if maxd <= 0 {
		maxd = 5 * time.Minute
	}
	maxd = max(maxd, base)
	if healthy <= 0 {
		healthy = 30 * time.Second
	}
	if lasted >= healthy {
		b.attempt = 0
	}
	d := base
	for i := 0; i < b.attempt && d < maxd; i++ {
		d *= 2
	}
	d = min(d, maxd)
	b.attempt++
	half := d / 2
	return half + rand.N(d-half+1)
}
