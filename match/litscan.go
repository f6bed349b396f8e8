package match

// litScanner finds every occurrence of many literals in one pass over a
// block. Each literal is represented by its rarest byte pair (rarity from
// byte frequencies in the loghub corpus); a 64 Ki-bit table says which pairs
// start a literal's representative pair, so the inner loop is one table
// probe per byte (a scalar cousin of Hyperscan's Teddy). Probe hits are
// verified against the literals registered for that pair.
//
// The scanner is immutable after construction and shared by all Matchers.
type litScanner struct {
	bits    [1 << 16 / 64]uint64
	group   []uint16 // pair -> 1 + index into groups; len 1<<16
	groups  [][]pairEntry
	lits    []literal
	minLen  int
	hasFold bool
}

type pairEntry struct {
	lit int32 // index into lits
	off int32 // offset of the pair in the literal
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

func newLitScanner() *litScanner {
	return &litScanner{group: make([]uint16, 1<<16)}
}

// add registers literal s for rule r. Literals are shared between rules.
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
	if ls.minLen == 0 || len(s) < ls.minLen {
		ls.minLen = len(s)
	}
	ls.hasFold = ls.hasFold || fold

	// Rarest pair; on ties prefer the later one (suffixes of log messages
	// tend to be more specific than their beginnings).
	best, bestScore := 0, -1
	for i := 0; i+1 < len(s); i++ {
		sc := int(byteRarity[s[i]]) + int(byteRarity[s[i+1]])
		if fold {
			// Upper-case variants are probed too.
			sc -= 2
		}
		if sc >= bestScore {
			best, bestScore = i, sc
		}
	}
	for _, a := range caseVariants(s[best], fold) {
		for _, b := range caseVariants(s[best+1], fold) {
			p := uint16(a) | uint16(b)<<8
			ls.bits[p>>6] |= 1 << (p & 63)
			g := ls.group[p]
			if g == 0 {
				ls.groups = append(ls.groups, nil)
				g = uint16(len(ls.groups))
				ls.group[p] = g
			}
			ls.groups[g-1] = append(ls.groups[g-1], pairEntry{lit: int32(li), off: int32(best)})
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
