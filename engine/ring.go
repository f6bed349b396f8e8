package engine

import (
	"context"
	"sync/atomic"

	"github.com/tinywatcher/tinywatcher/ingest"
)

// ring is a bounded single-producer single-consumer queue of blocks.
//
// The producer is the source's goroutine; the consumer is whichever worker
// holds the ring's turn in the scheduler (at most one at a time), so both
// ends need only atomic loads and stores. head and tail live on their own
// cache lines so the producer and the consumer do not false-share.
type ring struct {
	_    [64]byte
	head atomic.Uint64 // next slot to pop; written by the consumer
	_    [56]byte
	tail atomic.Uint64 // next slot to push; written by the producer
	_    [56]byte

	slots []*ingest.Block
	mask  uint64

	// notFull wakes a producer waiting on a full ring; 1-buffered so a
	// wake-up sent before the producer waits is not lost.
	notFull chan struct{}
}

func newRing(size int) *ring {
	n := 1
	for n < size {
		n <<= 1
	}
	return &ring{slots: make([]*ingest.Block, n), mask: uint64(n - 1), notFull: make(chan struct{}, 1)}
}

// tryPush adds b unless the ring is full. Producer only.
func (r *ring) tryPush(b *ingest.Block) bool {
	t := r.tail.Load()
	if t-r.head.Load() > r.mask {
		return false
	}
	r.slots[t&r.mask] = b
	r.tail.Store(t + 1)
	return true
}

// push adds b, waiting while the ring is full (back-pressure). It fails
// only when ctx ends. Producer only.
func (r *ring) push(ctx context.Context, b *ingest.Block) error {
	for !r.tryPush(b) {
		select {
		case <-r.notFull:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// pop removes the oldest block, or returns nil when the ring is empty.
// Consumer only.
func (r *ring) pop() *ingest.Block {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	b := r.slots[h&r.mask]
	r.slots[h&r.mask] = nil
	r.head.Store(h + 1)
	select {
	case r.notFull <- struct{}{}:
	default:
	}
	return b
}

// len is the number of blocks queued; exact for either end, approximate
// for anyone else.
func (r *ring) len() int { return int(r.tail.Load() - r.head.Load()) }

func (r *ring) cap() int { return len(r.slots) }
