package sink

import (
	"fmt"
	"testing"
)

func TestRing(t *testing.T) {
	r := ring{limit: 40}
	next, want := 0, 0
	var got []Alert
	for round := range 200 {
		for range round % 7 {
			if r.push(Alert{Line: fmt.Sprint(next)}) {
				next++
			}
		}
		got = r.pop(got[:0], round%5)
		for _, a := range got {
			if a.Line != fmt.Sprint(want) {
				t.Fatalf("round %d: popped %q, want %d", round, a.Line, want)
			}
			want++
		}
		if r.len() != next-want || r.len() > 40 || len(r.buf) > 40 {
			t.Fatalf("round %d: len %d, buffer %d, want %d", round, r.len(), len(r.buf), next-want)
		}
	}
	if r.reset() != next-want || r.len() != 0 {
		t.Fatal("reset")
	}
}
