package match

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// litScanner finds every occurrence of many literals in one pass over a
// block, a scalar cousin of Hyperscan's FDR/Teddy. Each literal of 4+ bytes
// is represented by its rarest 4-byte window (rarity from 4-gram
// frequencies in the loghub corpus, see ngram.go). The inner loop hashes
// the 4 bytes at every position (five positions per 8-byte load) and probes
// a 128 Ki-bit table; probe hits are verified against the literals
// registered under that hash. Literals of 2 or 3 bytes are few and found
// with bytes.Index (SIMD), once per case variant when case-folded.
//
// The scanner is immutable after construction and shared by all Matchers.
type litScanner struct {
	bits   [1 << hashBits / 64]uint64
	group  []uint32 // hash -> 1 + index into groups; len 1<<hashBits
	groups [][]probeEntry
	lits   []literal
	short  []shortLit
	// stride s: every literal probed by the table registers s consecutive
	// windows, so probing every s-th position finds each occurrence once.
	stride int
}

const hashBits = 17

func hash4(v uint32) uint32 { return (v * 0x9E3779B1) >> (32 - hashBits) }

type probeEntry struct {
	lit int32 // index into lits
	off int32 // offset of the window in the literal
}

type shortLit struct {
	lit      int32
	variants [][]byte // every case variant to search for
}

type literal struct {
	s     []byte // lower case when fold
	fold  bool
	rules []int32 // rules that list this literal
}

// byteRarity is -log2 of the frequency of each byte in the loghub corpus
// (higher is rarer).
var byteRarity = [256]uint8{
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 7, 23, 23, 7, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	3, 15, 11, 10, 11, 17, 17, 13, 9, 9, 10, 15, 8, 5, 5, 7, 4, 4, 5, 5, 6, 5, 6, 6, 6, 6, 5, 11, 13, 8, 13, 17,
	10, 8, 9, 8, 8, 8, 8, 11, 10, 8, 9, 10, 9, 8, 7, 8, 9, 11, 8, 7, 8, 9, 11, 9, 13, 15, 11, 8, 15, 8, 23, 7,
	23, 5, 7, 5, 5, 4, 7, 7, 7, 5, 11, 7, 6, 6, 5, 5, 6, 10, 5, 5, 5, 6, 7, 8, 8, 8, 11, 14, 10, 14, 11, 23,
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
}

var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func caseVariants(c byte, fold bool) []byte {
	if fold && 'a' <= c && c <= 'z' {
		return []byte{c, c - 'a' + 'A'}
	}
	return []byte{c}
}

// variants returns every ASCII case variant of s (s itself when !fold).
func variants(s []byte, fold bool) [][]byte {
	out := [][]byte{nil}
	for _, c := range s {
		var next [][]byte
		for _, v := range out {
			for _, cv := range caseVariants(c, fold) {
				next = append(next, append(append([]byte(nil), v...), cv))
			}
		}
		out = next
	}
	return out
}

func newLitScanner() *litScanner {
	return &litScanner{group: make([]uint32, 1<<hashBits)}
}

// add registers literal s (at least 2 bytes) for rule r. Literals are
// shared between rules.
func (ls *litScanner) add(s string, fold bool, rule int, index map[string]int) {
	key := s
	if fold {
		key = "\x00i" + s
	}
	if li, ok := index[key]; ok {
		ls.lits[li].rules = append(ls.lits[li].rules, int32(rule))
		return
	}
	li := len(ls.lits)
	index[key] = li
	ls.lits = append(ls.lits, literal{s: []byte(s), fold: fold, rules: []int32{int32(rule)}})
}

// maxStride bounds the probe stride (see build).
const maxStride = 4

// maxShortVariants is how many bytes.Index passes (literals too short for
// the stride, times their case variants) build accepts to get a larger
// stride.
const maxShortVariants = 4

// build chooses the stride and each literal's probe windows. It must be
// called once, after every add.
func (ls *litScanner) build() {
	// The largest stride that leaves at most maxShortVariants searches to
	// bytes.Index; literals of 2-3 bytes always go there.
	ls.stride = 1
	for st := maxStride; st > 1; st-- {
		n := 0
		for _, l := range ls.lits {
			if len(l.s) >= 4 && len(l.s) < 3+st {
				n += len(variants(l.s, l.fold))
			}
		}
		if n <= maxShortVariants {
			ls.stride = st
			break
		}
	}
	for li := range ls.lits {
		l := &ls.lits[li]
		if len(l.s) < 3+ls.stride {
			ls.short = append(ls.short, shortLit{lit: int32(li), variants: variants(l.s, l.fold)})
			continue
		}
		ls.addWindows(li)
	}
}

// addWindows registers stride consecutive 4-byte windows of literal li.
func (ls *litScanner) addWindows(li int) {
	l := &ls.lits[li]
	s, st := l.s, ls.stride
	// The rarest run of windows by 4-gram frequency in real logs
	// (windowRarity; the run is as good as its most common window); on ties
	// prefer the later one (log messages tend to end more specifically than
	// they begin). Avoid crowded hashes: a hash shared by many literals costs
	// a verification of each of them on every probe hit.
	best, bestScore := 0, -1<<30
	for o := 0; o+st+3 <= len(s); o++ {
		sc := 1 << 30
		for k := range st {
			w := s[o+k : o+k+4]
			wsc := windowRarity(w)
			if g := ls.group[hash4(binary.LittleEndian.Uint32(w))]; g != 0 {
				wsc -= 64 * max(0, bits.Len(uint(len(ls.groups[g-1])))-4)
			}
			sc = min(sc, wsc)
		}
		if sc >= bestScore {
			best, bestScore = o, sc
		}
	}
	for k := range st {
		off := best + k
		for _, v := range variants(s[off:off+4], l.fold) {
			h := hash4(binary.LittleEndian.Uint32(v))
			ls.bits[h>>6] |= 1 << (h & 63)
			g := ls.group[h]
			if g == 0 {
				ls.groups = append(ls.groups, nil)
				g = uint32(len(ls.groups))
				ls.group[h] = g
			}
			e := probeEntry{lit: int32(li), off: int32(off)}
			if len(ls.groups[g-1]) == 0 || ls.groups[g-1][len(ls.groups[g-1])-1] != e {
				ls.groups[g-1] = append(ls.groups[g-1], e)
			}
		}
	}
}

func (ls *litScanner) empty() bool { return len(ls.lits) == 0 }

func equalFold(b, lower []byte) bool {
	for i, c := range lower {
		if lowerTab[b[i]] != c {
			return false
		}
	}
	return true
}

// next returns the smallest j >= i that is a multiple of the stride and
// such that the 4 bytes at j hash to a probe, or -1.
func (ls *litScanner) next(b []byte, i int) int {
	tab := &ls.bits
	switch ls.stride {
	case 2:
		i = (i + 1) &^ 1
		for ; i+8 <= len(b); i += 6 {
			// Bytes i .. i+7: the windows starting at i, i+2, i+4.
			x := binary.LittleEndian.Uint64(b[i:])
			if h := hash4(uint32(x)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i
			}
			if h := hash4(uint32(x >> 16)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 2
			}
			if h := hash4(uint32(x >> 32)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 4
			}
		}
	case 3:
		i = (i + 2) / 3 * 3
		for ; i+8 <= len(b); i += 6 {
			// The windows starting at i and i+3.
			x := binary.LittleEndian.Uint64(b[i:])
			if h := hash4(uint32(x)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i
			}
			if h := hash4(uint32(x >> 24)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 3
			}
		}
	case 4:
		i = (i + 3) &^ 3
		for ; i+8 <= len(b); i += 8 {
			// The windows starting at i and i+4.
			x := binary.LittleEndian.Uint64(b[i:])
			if h := hash4(uint32(x)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i
			}
			if h := hash4(uint32(x >> 32)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 4
			}
		}
	default:
		for ; i+8 <= len(b); i += 5 {
			// Bytes i .. i+7: the five windows starting at i .. i+4.
			x := binary.LittleEndian.Uint64(b[i:])
			if h := hash4(uint32(x)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i
			}
			if h := hash4(uint32(x >> 8)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 1
			}
			if h := hash4(uint32(x >> 16)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 2
			}
			if h := hash4(uint32(x >> 24)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 3
			}
			if h := hash4(uint32(x >> 32)); tab[h>>6]&(1<<(h&63)) != 0 {
				return i + 4
			}
		}
	}
	for ; i+4 <= len(b); i += ls.stride {
		if h := hash4(binary.LittleEndian.Uint32(b[i:])); tab[h>>6]&(1<<(h&63)) != 0 {
			return i
		}
	}
	return -1
}

// verify reports whether literal l occurs at b[start:].
func (l *literal) verify(b []byte, start int) bool {
	if start < 0 || start+len(l.s) > len(b) {
		return false
	}
	w := b[start : start+len(l.s)]
	if l.fold {
		return equalFold(w, l.s)
	}
	return bytes.Equal(w, l.s)
}
