package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestThrottleAllow(t *testing.T) {
	th := Throttle{Interval: 10 * time.Second}
	t0 := time.Unix(1e9, 0)
	// f checks the event at t0+sec.
	f := func(sec float64, wantOK bool, wantSuppressed int) {
		t.Helper()
		ok, n := th.Allow(t0.Add(time.Duration(sec * float64(time.Second))))
		if ok != wantOK || n != wantSuppressed {
			t.Fatalf("at +%vs: Allow = %v, %d; want %v, %d", sec, ok, n, wantOK, wantSuppressed)
		}
	}
	f(0, true, 0)
	f(1, false, 0)
	f(9.9, false, 0)
	f(10, true, 2)
	f(10, false, 0)
	f(100, true, 1)
	f(111, true, 0)

	var zero Throttle // one a minute
	if ok, _ := zero.Allow(t0); !ok {
		t.Fatal("first event held back")
	}
	if ok, _ := zero.Allow(t0.Add(59 * time.Second)); ok {
		t.Fatal("second event within a minute let through")
	}
}

func TestThrottleLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	th := Throttle{Interval: time.Hour}
	for range 5 {
		th.Log(context.Background(), log, slog.LevelWarn, "cannot open", "path", "/x")
	}
	if got := strings.Count(buf.String(), "cannot open"); got != 1 {
		t.Fatalf("logged %d times:\n%s", got, buf.String())
	}
	th.next = time.Time{} // the interval is over
	th.Log(context.Background(), log, slog.LevelWarn, "cannot open", "path", "/x")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Fatalf("no count of suppressed messages:\n%s", buf.String())
	}
	th.Log(context.Background(), nil, slog.LevelWarn, "nil logger")
}
