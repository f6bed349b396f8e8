package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRuleStateCooldown(t *testing.T) {
	s := newRuleState(60*time.Second, 0, 0)
	f := func(at time.Duration, wantFire bool, wantSuppressed uint64) {
		t.Helper()
		fire, sup := s.offer(int64(at))
		if fire != wantFire || sup != wantSuppressed {
			t.Fatalf("offer at %s = (%v, %d), want (%v, %d)", at, fire, sup, wantFire, wantSuppressed)
		}
	}
	f(0, true, 0)
	f(time.Second, false, 0)
	f(59*time.Second, false, 0)
	f(60*time.Second, true, 2)
	f(61*time.Second, false, 0)
	f(10*time.Minute, true, 1)
}

func TestRuleStateNoCooldownAlertsEveryMatch(t *testing.T) {
	s := newRuleState(0, 0, 0)
	for i := range 5 {
		if fire, sup := s.offer(int64(i)); !fire || sup != 0 {
			t.Fatalf("offer %d = (%v, %d), want (true, 0)", i, fire, sup)
		}
	}
}

func TestRuleStateThreshold(t *testing.T) {
	s := newRuleState(0, 3, 10*time.Second)
	f := func(at time.Duration, wantFire bool, wantSuppressed uint64) {
		t.Helper()
		fire, sup := s.offer(int64(at))
		if fire != wantFire || sup != wantSuppressed {
			t.Fatalf("offer at %s = (%v, %d), want (%v, %d)", at, fire, sup, wantFire, wantSuppressed)
		}
	}
	f(0, false, 0)
	f(time.Second, false, 0)
	f(2*time.Second, true, 2) // third within 10s fires
	f(3*time.Second, false, 0)
	f(4*time.Second, false, 0) // window restarted: only 2
	f(20*time.Second, false, 0)
	f(21*time.Second, false, 0) // 4s, 20s, 21s: oldest 17s old
	f(22*time.Second, true, 4)  // 20, 21, 22; 3, 4, 20, 21 were held back
	f(22*time.Second, false, 0)
}

func TestRuleStateThresholdAndCooldown(t *testing.T) {
	s := newRuleState(time.Minute, 2, time.Second)
	fires := 0
	for i := range 100 {
		if fire, _ := s.offer(int64(i) * int64(100*time.Millisecond)); fire {
			fires++
		}
	}
	// 100 matches over 10s, two per 100ms: the threshold passes often but
	// the one-minute cooldown lets only the first through.
	if fires != 1 {
		t.Fatalf("fires = %d, want 1", fires)
	}
}

// TestRuleStateCooldownUnderContention offers matches from many goroutines
// at interleaved times: every alert must be at least one cooldown after the
// previous one, and fires plus suppressed must account for every offer.
func TestRuleStateCooldownUnderContention(t *testing.T) {
	const (
		goroutines = 8
		offers     = 2000
		cooldown   = int64(100)
	)
	s := newRuleState(time.Duration(cooldown), 0, 0)
	var clock atomic.Int64
	var mu sync.Mutex
	var fireTimes []int64
	var suppressed atomic.Uint64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range offers {
				now := clock.Add(1)
				if fire, sup := s.offer(now); fire {
					suppressed.Add(sup)
					mu.Lock()
					fireTimes = append(fireTimes, now)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	suppressed.Add(s.suppressed.Load())
	if got := uint64(len(fireTimes)) + suppressed.Load(); got != goroutines*offers {
		t.Fatalf("fires+suppressed = %d, want %d", got, goroutines*offers)
	}
	slices.Sort(fireTimes)
	for i := 1; i < len(fireTimes); i++ {
		if fireTimes[i]-fireTimes[i-1] < cooldown {
			t.Fatalf("alerts at %d and %d are closer than the cooldown %d", fireTimes[i-1], fireTimes[i], cooldown)
		}
	}
	// Time advanced goroutines*offers ticks: about one alert per window.
	if max := goroutines*offers/int(cooldown) + 1; len(fireTimes) > max {
		t.Fatalf("%d alerts, more than the %d windows", len(fireTimes), max)
	}
}

// TestRuleStateSameInstantOneWinner: all goroutines offer at one instant;
// exactly one of them alerts.
func TestRuleStateSameInstantOneWinner(t *testing.T) {
	s := newRuleState(time.Minute, 0, 0)
	var fires atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 500 {
				if fire, _ := s.offer(42); fire {
					fires.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if fires.Load() != 1 {
		t.Fatalf("fires = %d, want exactly 1", fires.Load())
	}
}

func TestRuleStateThresholdUnderContention(t *testing.T) {
	// N in a window longer than the test: every N-th match fires, exactly.
	const n = 5
	s := newRuleState(0, n, time.Hour)
	var fires atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				if fire, _ := s.offer(int64(i)); fire {
					fires.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if fires.Load() != 8*1000/n {
		t.Fatalf("fires = %d, want %d", fires.Load(), 8*1000/n)
	}
}
