package engine

import (
	"sync"
	"testing"
)

func TestRunQueueFIFOAndGrowth(t *testing.T) {
	q := newRunQueue()
	srcs := make([]*sourceRun, 40)
	for i := range srcs {
		srcs[i] = &sourceRun{}
	}
	// Wrap around before growing: take some, put more.
	for i := range 10 {
		q.put(srcs[i])
	}
	for i := range 5 {
		if got := q.take(); got != srcs[i] {
			t.Fatalf("take %d: wrong source", i)
		}
	}
	for i := 10; i < 40; i++ {
		q.put(srcs[i])
	}
	for i := 5; i < 40; i++ {
		if got := q.take(); got != srcs[i] {
			t.Fatalf("take %d: wrong source", i)
		}
	}
	q.close()
	if q.take() != nil {
		t.Fatal("take on a closed empty queue returned a source")
	}
}

func TestRunQueueCloseWakesAllWorkers(t *testing.T) {
	q := newRunQueue()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q.take() != nil {
			}
		}()
	}
	for range 100 {
		q.put(&sourceRun{})
	}
	q.close()
	wg.Wait()
}

func BenchmarkRunQueue(b *testing.B) {
	q := newRunQueue()
	s := &sourceRun{}
	b.ReportAllocs()
	for range b.N {
		q.put(s)
		q.take()
	}
}
