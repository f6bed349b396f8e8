package sink

import (
	"sync"
	"time"
)

// throttle lets one log line through per interval and counts the others,
// so a dead destination does not flood our own logs.
type throttle struct {
	interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether a line may be logged now and, if so, how many
// were held back since the previous one.
func (t *throttle) allow() (ok bool, suppressed int) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	suppressed, t.suppressed = t.suppressed, 0
	t.next = now.Add(t.interval)
	return true, suppressed
}
