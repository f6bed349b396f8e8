package sink

// ring is a FIFO of alerts that grows by doubling up to its limit, so an
// idle destination holds little memory and a full one exactly limit
// alerts. Not safe for concurrent use: queue.mu guards it.
type ring struct {
	buf     []Alert
	head, n int
	limit   int
}

func (r *ring) len() int   { return r.n }
func (r *ring) full() bool { return r.n >= r.limit }

// push appends a; it returns false when the ring is full.
func (r *ring) push(a Alert) bool {
	if r.n >= r.limit {
		return false
	}
	if r.n == len(r.buf) {
		nb := make([]Alert, min(max(2*len(r.buf), 16), r.limit))
		r.copyTo(nb)
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = a
	r.n++
	return true
}

func (r *ring) copyTo(dst []Alert) {
	k := copy(dst, r.buf[r.head:min(r.head+r.n, len(r.buf))])
	copy(dst[k:], r.buf[:r.n-k])
}

// pop appends up to k alerts, oldest first, to dst and returns it.
func (r *ring) pop(dst []Alert, k int) []Alert {
	for ; k > 0 && r.n > 0; k-- {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Alert{} // let its strings go
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	return dst
}

// reset drops every alert and returns how many there were.
func (r *ring) reset() int {
	n := r.n
	clear(r.buf)
	r.head, r.n = 0, 0
	return n
}
