package match

import "math/bits"

// Bits is a set of rule indexes. The zero value is empty; a nil Bits used as
// a mask means "every rule".
type Bits []uint64

// NewBits returns an empty set able to hold n rules.
func NewBits(n int) Bits { return make(Bits, (n+63)/64) }

// Set adds rule i.
func (b Bits) Set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

// Has reports whether rule i is in the set.
func (b Bits) Has(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// Reset empties the set in place.
func (b Bits) Reset() { clear(b) }

// Empty reports whether no rule is in the set.
func (b Bits) Empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// Count is the number of rules in the set.
func (b Bits) Count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// Each calls fn for every rule in the set, in increasing order.
func (b Bits) Each(fn func(i int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(wi<<6 + t)
			w &= w - 1
		}
	}
}
