package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Throttle lets a repeated event through at most once per Interval and
// counts the ones it holds back, so a garbage stream or a file that stays
// unreadable does not flood the logs. Safe for concurrent use; the zero
// value lets one event through per minute.
//
//	var th = ingest.Throttle{Interval: 10 * time.Second}
//	th.Log(ctx, log, slog.LevelWarn, "cannot open file", "path", p, "err", err)
type Throttle struct {
	Interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// DefaultThrottleInterval is the interval of a Throttle that sets none.
const DefaultThrottleInterval = time.Minute

// Allow reports whether an event happening at now goes through and, if it
// does, how many events were held back since the last one that did.
func (t *Throttle) Allow(now time.Time) (ok bool, suppressed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	iv := t.Interval
	if iv <= 0 {
		iv = DefaultThrottleInterval
	}
	t.next = now.Add(iv)
	suppressed, t.suppressed = t.suppressed, 0
	return true, suppressed
}

// Log logs msg with args at level if Allow lets it through now, adding a
// "suppressed" attribute with the count of messages held back before it
// when there were any. A nil logger logs nothing but still counts.
func (t *Throttle) Log(ctx context.Context, l *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, n := t.Allow(time.Now())
	if !ok || l == nil {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Log(ctx, level, msg, args...)
}
