package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// ruleState is the alerting state of one rule, shared by every worker.
//
// Cooldown is an atomic "next allowed" instant advanced by compare-and-swap,
// so exactly one match per cooldown window wins whatever the interleaving.
// The threshold window is exact too: it is kept under a mutex, which is
// only taken on a match of a rule that has a threshold.
type ruleState struct {
	cooldown int64 // nanoseconds; 0 = every match alerts
	next     atomic.Int64
	// suppressed counts matches held back since the rule's last alert;
	// suppressedTotal since start, for metrics.
	suppressed      atomic.Uint64
	suppressedTotal atomic.Uint64

	count  int   // threshold N; 0 = no threshold
	window int64 // threshold T in nanoseconds
	mu     sync.Mutex
	times  []int64 // ring of the last count match times
	head   int
	filled int
}

func newRuleState(cooldown time.Duration, count int, window time.Duration) *ruleState {
	s := &ruleState{cooldown: int64(cooldown), count: count, window: int64(window)}
	if count > 0 {
		s.times = make([]int64, count)
	}
	return s
}

// offer records one match at now and reports whether it alerts, with the
// number of matches suppressed since the previous alert when it does.
func (s *ruleState) offer(now int64) (fire bool, suppressed uint64) {
	if s.count > 0 && !s.thresholdReached(now) {
		s.hold()
		return false, 0
	}
	if s.cooldown > 0 {
		for {
			next := s.next.Load()
			if now < next {
				s.hold()
				return false, 0
			}
			if s.next.CompareAndSwap(next, now+s.cooldown) {
				break
			}
		}
	}
	return true, s.suppressed.Swap(0)
}

// thresholdReached adds now to the window and reports whether it now holds
// count matches within window; when it does, the window starts empty again.
func (s *ruleState) thresholdReached(now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times[s.head] = now
	s.head = (s.head + 1) % s.count
	if s.filled < s.count {
		s.filled++
	}
	if s.filled < s.count {
		return false
	}
	// The oldest of the last count matches sits at head.
	if now-s.times[s.head] > s.window {
		return false
	}
	s.filled = 0
	return true
}

func (s *ruleState) hold() {
	s.suppressed.Add(1)
	s.suppressedTotal.Add(1)
}
