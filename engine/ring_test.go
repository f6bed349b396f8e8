package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tinywatcher/tinywatcher/ingest"
)

func TestRingOrderAndBound(t *testing.T) {
	r := newRing(3) // rounds up to 4
	if r.cap() != 4 {
		t.Fatalf("cap = %d, want 4", r.cap())
	}
	blocks := make([]*ingest.Block, 5)
	for i := range blocks {
		blocks[i] = &ingest.Block{Offset: int64(i)}
	}
	for i := range 4 {
		if !r.tryPush(blocks[i]) {
			t.Fatalf("push %d refused", i)
		}
	}
	if r.tryPush(blocks[4]) {
		t.Fatal("push into a full ring accepted")
	}
	for i := range 4 {
		if b := r.pop(); b != blocks[i] {
			t.Fatalf("pop %d = %v, want block %d", i, b, i)
		}
	}
	if b := r.pop(); b != nil {
		t.Fatalf("pop of empty ring = %v", b)
	}
}

// TestRingBackPressure: a producer on a full ring waits for the consumer,
// and every block arrives once, in order.
func TestRingBackPressure(t *testing.T) {
	r := newRing(2)
	const n = 10000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if err := r.push(context.Background(), &ingest.Block{Offset: int64(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for want := int64(0); want < n; {
		b := r.pop()
		if b == nil {
			continue
		}
		if b.Offset != want {
			t.Fatalf("got block %d, want %d", b.Offset, want)
		}
		want++
	}
	wg.Wait()
}

func TestRingPushGivesUpWithContext(t *testing.T) {
	r := newRing(1)
	r.tryPush(&ingest.Block{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.push(ctx, &ingest.Block{}); err == nil {
		t.Fatal("push into a full ring returned nil after its context ended")
	}
}

func BenchmarkRing(b *testing.B) {
	r := newRing(8)
	blk := &ingest.Block{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for got := 0; got < b.N; {
			if r.pop() != nil {
				got++
			}
		}
	}()
	for range b.N {
		_ = r.push(context.Background(), blk)
	}
	<-done
}
