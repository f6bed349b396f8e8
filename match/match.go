package match

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wasilibs/go-re2"
	"github.com/wasilibs/go-re2/experimental"
)

// Rule is one rule as the matcher sees it: exactly one of Pattern (RE2
// syntax) and Text (a plain substring) is set.
type Rule struct {
	Name       string
	Pattern    string
	Text       string
	IgnoreCase bool
}

// Program is the validated, compiled-once form of a rule list. It is
// immutable and safe for concurrent use; it hands out per-worker Matchers.
type Program struct {
	rules     []Rule
	exprs     []string // one RE2 expression per rule
	lineExprs []string // line-local form of exprs (see lineLocal)
	words     int      // len of a Bits for this program

	ls       *litScanner
	exact    Bits  // rules whose literal hit is a match
	residual Bits  // rules without literals: found by a block scan
	resIdx   []int // the residual rules, in order
	// Residual rules whose every match starts at the line start are run
	// with Go's regexp on each line (cheap: an anchored match fails on the
	// first bytes); the others by a line-local RE2 scan of the block.
	resAnch, resFree   []int
	anchBits, freeBits Bits
	// extra are further literal requirements per rule, checked on a
	// candidate line before RE2 (see ruleLiterals).
	extra [][]reqLits
}

// reqLits is a set of literals one of which occurs in every matching line.
type reqLits struct {
	lits [][]byte // lower case when fold
	fold bool
}

// in reports whether one of the literals occurs in line.
func (r *reqLits) in(line []byte) bool {
	for _, l := range r.lits {
		if r.fold {
			if indexFold(line, l) >= 0 {
				return true
			}
		} else if bytes.Contains(line, l) {
			return true
		}
	}
	return false
}

// indexFold is bytes.Index with ASCII case folding; lower is lower case.
func indexFold(s, lower []byte) int {
	if len(lower) == 0 {
		return 0
	}
	c0, c1 := lower[0], lower[0]
	if 'a' <= c0 && c0 <= 'z' {
		c1 = c0 - 'a' + 'A'
	}
	for i := 0; i+len(lower) <= len(s); {
		j := bytes.IndexByte(s[i:], c0)
		if c1 != c0 {
			if k := bytes.IndexByte(s[i:], c1); k >= 0 && (j < 0 || k < j) {
				j = k
			}
		}
		if j < 0 {
			return -1
		}
		i += j
		if i+len(lower) > len(s) {
			return -1
		}
		if equalFold(s[i:], lower) {
			return i
		}
		i++
	}
	return -1
}

// Compile validates every rule and builds the program. Errors name the
// rule and the offending part of its pattern.
func Compile(rules []Rule) (*Program, error) {
	p := &Program{
		rules: append([]Rule(nil), rules...),
		words: (len(rules) + 63) / 64,
		ls:    newLitScanner(),
	}
	p.exact = NewBits(len(rules))
	p.extra = make([][]reqLits, len(rules))
	p.residual = NewBits(len(rules))
	p.anchBits = NewBits(len(rules))
	p.freeBits = NewBits(len(rules))
	index := map[string]int{}
	for i, r := range rules {
		expr, err := RuleExpr(r)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		p.exprs = append(p.exprs, expr)
		re, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			return nil, fmt.Errorf("BUG: rule %q: %w", r.Name, err)
		}
		lits, fold, exact, ok, extra := ruleLiterals(re)
		if !ok {
			p.residual.Set(i)
			p.resIdx = append(p.resIdx, i)
			if anchoredStart(re) {
				p.resAnch = append(p.resAnch, i)
				p.anchBits.Set(i)
			} else {
				p.resFree = append(p.resFree, i)
				p.freeBits.Set(i)
			}
		} else {
			for _, s := range lits {
				p.ls.add(s, fold, i, index)
			}
			if exact {
				p.exact.Set(i)
			}
			for _, c := range extra {
				rs := reqLits{fold: c.fold}
				for _, l := range c.req {
					rs.lits = append(rs.lits, []byte(l))
				}
				p.extra[i] = append(p.extra[i], rs)
			}
		}
		// Parse again: Simplify in ruleLiterals may share nodes.
		re, _ = syntax.Parse(expr, syntax.Perl)
		p.lineExprs = append(p.lineExprs, lineLocal(re).String())
	}
	p.ls.build()
	return p, nil
}

// RuleExpr turns a rule into the RE2 expression that matches it, after
// validating it with regexp/syntax so that RE2 never prints to stderr.
func RuleExpr(r Rule) (string, error) {
	expr := r.Pattern
	if r.Text != "" || r.Pattern == "" {
		expr = regexp.QuoteMeta(r.Text)
	}
	if r.IgnoreCase {
		expr = "(?i)" + expr
	}
	if _, err := syntax.Parse(expr, syntax.Perl); err != nil {
		return "", err
	}
	return expr, nil
}

// NumRules is the number of rules in the program; rule indexes run from 0.
func (p *Program) NumRules() int { return len(p.rules) }

// Rule returns rule i as given to Compile.
func (p *Program) Rule(i int) Rule { return p.rules[i] }

// Stats counts a Matcher's work since it was created. Candidate lines are
// lines that a literal hit or the residual block scan sent to verification.
type Stats struct {
	Blocks         uint64 // Scan calls
	Bytes          uint64 // bytes scanned
	CandidateLines uint64 // lines verified (literal hit or residual hit)
	MatchedLines   uint64 // lines reported to fn
	ResidualScans  uint64 // block scans for rules without literals
	RuleEvals      uint64 // single-rule verifications on a line
	SetEvals       uint64 // rule-set evaluations on a line
	SetFallbacks   uint64 // set evaluations that failed (RE2 DFA out of memory) and were redone rule by rule
	InvalidUTF8    uint64 // candidate lines or blocks with invalid UTF-8 (matched on a U+FFFD-sanitised copy)
	BatchEvals     uint64 // line-local RE2 searches over many candidate lines of a block
}

// ruleSet is a go-re2 set over some rules, used to tell which rules match
// a candidate line when many are possible.
type ruleSet struct {
	set   *experimental.Set
	rules []int // set index -> rule index
	bits  Bits
}

// blockRE is a line-local program over some residual rules, run on whole
// blocks.
type blockRE struct {
	re2 *re2.Regexp
	std *regexp.Regexp // when RE2 cannot compile it
}

func (b *blockRE) findIndex(s []byte) []int {
	if b.re2 != nil {
		return b.re2.FindIndex(s)
	}
	return b.std.FindIndex(s)
}

// setChunk is the most rules in one go-re2 set. A candidate line is
// evaluated only by the sets holding one of its candidate rules; small sets
// keep that evaluation cheap with 1,000+ rules (neighbouring rules, which
// tend to share literals, share a set).
const setChunk = 64

// setMaxMem is the RE2 memory budget of a set (0: go-re2's default,
// 128 MiB); tests lower it to force set evaluation errors.
var setMaxMem int

// perRuleMax is the largest number of rules to verify one by one on a
// candidate line; above it a set evaluation is cheaper.
const perRuleMax = 3

// batchChunk bounds how much of a rule's joined candidate lines one
// search call copies into RE2's memory (batchRule).
var batchChunk = 4 << 10

// residualChunk bounds how much of a block one residual search call copies
// into RE2's memory, so that many hits in a block do not cost quadratic
// copying.
const residualChunk = 16 << 10

// Matcher scans blocks for one worker. It is not safe for concurrent use.
type Matcher struct {
	p     *Program
	res   []*re2.Regexp    // per rule, compiled on first use
	std   []*regexp.Regexp // per rule, when RE2 cannot compile it
	sets  []ruleSet
	resid []blockRE      // line-local RE2 programs of p.resFree
	anch  *regexp.Regexp // p.resAnch in one Go regexp, run per line
	// lres are the line-local programs of the rules (see lineLocal), for
	// batchVerify, compiled on first use; lresBad marks rules RE2 refused.
	lres    []*re2.Regexp
	lresBad []bool

	// Scratch, reused across Scan calls.
	cands  []candLine
	hits   []litHit
	arena  []uint64
	rlines []int // start, end pairs of residual hit lines
	rl2    []int // the same, from the block scan, before merging
	merge  []int
	active Bits
	san    []byte
	sanPos []int
	vlines []vline
	varena []uint64 // per vline: res bits, then ver bits
	vbuf   []byte   // candidate lines of one rule, separated by '\n'
	vidx   []vref
	cnt    []int32 // per rule: lines, then run end in pairs (batchVerify)
	rlist  []int32 // rules with lines to verify, in order of appearance
	pairs  []int32 // vlines indexes grouped by rule
	stats  Stats
}

// vline is a candidate line of the block being scanned and the state of
// its verification.
type vline struct {
	start, end int
	bits       int // offset of res (then ver) in varena
	nver       int // rules in ver
}

// vref is a line copied into vbuf for one rule's search (batchRule).
type vref struct {
	line  int   // index in vlines
	start int   // offset of the line in vbuf
	hit   uint8 // noHit, matchHit or spanHit
}

const (
	noHit = iota
	matchHit
	spanHit
)

type candLine struct {
	start, end int // end is the index of '\n' or len(block)
	bits       int // offset of this line's rule words in arena
}

// NewMatcher compiles the program for one worker.
func (p *Program) NewMatcher() (*Matcher, error) {
	n := len(p.rules)
	m := &Matcher{
		p:       p,
		res:     make([]*re2.Regexp, n),
		std:     make([]*regexp.Regexp, n),
		active:  NewBits(n),
		lres:    make([]*re2.Regexp, n),
		lresBad: make([]bool, n),
		cnt:     make([]int32, n),
	}
	// Sets cover every rule that may need verification.
	var setRules []int
	for i := range n {
		if !p.exact.Has(i) {
			setRules = append(setRules, i)
		}
	}
	for len(setRules) > 0 {
		k := min(len(setRules), setChunk)
		m.addSets(setRules[:k])
		setRules = setRules[k:]
	}

	if len(p.resFree) > 0 {
		if err := m.addResidual(p.resFree); err != nil {
			return nil, err
		}
	}
	if len(p.resAnch) > 0 {
		parts := make([]string, len(p.resAnch))
		for i, r := range p.resAnch {
			parts[i] = "(?:" + p.exprs[r] + ")"
		}
		// Every match starts at 0 already; a leading \A lets Go's regexp
		// see the program as anchored and try only that position.
		re, err := regexp.Compile(`\A(?:` + strings.Join(parts, "|") + ")")
		if err != nil {
			return nil, fmt.Errorf("BUG: anchored residual rules: %w", err)
		}
		m.anch = re
	}
	return m, nil
}

// addSets compiles rules into go-re2 sets, splitting a set in two when RE2
// refuses it as too large. Rules no set accepts are verified one by one.
func (m *Matcher) addSets(rules []int) {
	if len(rules) == 0 {
		return
	}
	exprs := make([]string, len(rules))
	for i, r := range rules {
		exprs[i] = m.p.exprs[r]
	}
	set, err := experimental.CompileSetWithOptions(exprs, experimental.CompileOptions{MaxMem: setMaxMem})
	if err != nil {
		if len(rules) == 1 {
			return
		}
		h := len(rules) / 2
		m.addSets(rules[:h])
		m.addSets(rules[h:])
		return
	}
	rs := ruleSet{set: set, rules: rules, bits: NewBits(len(m.p.rules))}
	for _, r := range rules {
		rs.bits.Set(r)
	}
	m.sets = append(m.sets, rs)
}

func (m *Matcher) addResidual(rules []int) error {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = "(?:" + m.p.lineExprs[r] + ")"
	}
	expr := strings.Join(parts, "|")
	if re, err := re2.Compile(expr); err == nil {
		m.resid = append(m.resid, blockRE{re2: re})
		return nil
	}
	if len(rules) > 1 {
		h := len(rules) / 2
		if err := m.addResidual(rules[:h]); err != nil {
			return err
		}
		return m.addResidual(rules[h:])
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return fmt.Errorf("rule %q: %w", m.p.rules[rules[0]].Name, err)
	}
	m.resid = append(m.resid, blockRE{std: re})
	return nil
}

// Stats returns the counters of this Matcher.
func (m *Matcher) Stats() Stats { return m.stats }

// Scan calls fn for every line of block that matches at least one rule in
// mask (nil mask: every rule), in order. block holds whole lines, each
// ended by '\n' except perhaps the last. line excludes the '\n'; line and
// rules are valid only until fn returns and must not be retained.
//
// Scan returns an error only if a rule could not be evaluated at all; it
// never reports "no match" for a line it could not evaluate.
func (m *Matcher) Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error {
	m.stats.Blocks++
	m.stats.Bytes += uint64(len(block))
	if len(block) == 0 {
		return nil
	}
	p := m.p
	// active = mask restricted to the program's rules.
	if mask == nil {
		for w := range m.active {
			m.active[w] = ^uint64(0)
		}
	} else {
		m.active.Reset()
		copy(m.active, mask)
	}
	if k := len(p.rules) & 63; k != 0 && len(m.active) > 0 {
		m.active[len(m.active)-1] &= 1<<k - 1
	}
	if m.active.Empty() {
		return nil
	}

	m.cands = m.cands[:0]
	m.arena = m.arena[:0]
	if !p.ls.empty() && !subset(m.active, p.residual) {
		m.literalPass(block)
	}
	m.rlines = m.rlines[:0]
	if m.anch != nil && intersects(p.anchBits, m.active) {
		m.anchoredPass(block)
	}
	if len(m.resid) > 0 && intersects(p.freeBits, m.active) {
		m.residualPass(block)
	}

	// Merge literal candidates and residual lines, both in block order.
	m.vlines = m.vlines[:0]
	m.varena = m.varena[:0]
	W := p.words
	ci, ri := 0, 0
	for ci < len(m.cands) || ri < len(m.rlines) {
		var (
			start, end int
			lit        []uint64
			resHit     bool
		)
		switch {
		case ri >= len(m.rlines) || (ci < len(m.cands) && m.cands[ci].start < m.rlines[ri]):
			c := m.cands[ci]
			start, end, lit = c.start, c.end, m.arena[c.bits:c.bits+W]
			ci++
		case ci >= len(m.cands) || m.rlines[ri] < m.cands[ci].start:
			start, end, resHit = m.rlines[ri], m.rlines[ri+1], true
			ri += 2
		default: // same line
			c := m.cands[ci]
			start, end, lit, resHit = c.start, c.end, m.arena[c.bits:c.bits+W], true
			ci++
			ri += 2
		}
		m.prepare(block[start:end], start, end, lit, resHit)
	}
	if len(m.vlines) == 0 {
		return nil
	}
	m.batchVerify(block)
	for i := range m.vlines {
		v := &m.vlines[i]
		res := Bits(m.varena[v.bits : v.bits+W])
		line := block[v.start:v.end]
		if v.nver > 0 {
			if err := m.verifyLine(line, res, Bits(m.varena[v.bits+W:v.bits+2*W]), v.nver); err != nil {
				return err
			}
		}
		if res.Empty() {
			continue
		}
		m.stats.MatchedLines++
		fn(line, res)
	}
	return nil
}

// subset reports whether every rule in a is in b.
func subset(a, b Bits) bool {
	for w := range a {
		var bw uint64
		if w < len(b) {
			bw = b[w]
		}
		if a[w]&^bw != 0 {
			return false
		}
	}
	return true
}

func intersects(a, b Bits) bool {
	for w := range min(len(a), len(b)) {
		if a[w]&b[w] != 0 {
			return true
		}
	}
	return false
}

// literalPass finds the lines holding a literal hit and, for each, the rules
// whose literals hit. See litScanner.
func (m *Matcher) literalPass(b []byte) {
	ls := m.p.ls
	m.hits = m.hits[:0]
	for i := ls.next(b, 0); i >= 0; i = ls.next(b, i+1) {
		h := hash4(binary.LittleEndian.Uint32(b[i:]))
		for _, e := range ls.groups[ls.group[h]-1] {
			if start := i - int(e.off); ls.lits[e.lit].verify(b, start) {
				m.hits = append(m.hits, litHit{start: start, lit: e.lit})
			}
		}
	}
	if len(ls.short) > 0 {
		for _, sl := range ls.short {
			for _, v := range sl.variants {
				for pos := 0; ; {
					j := bytes.Index(b[pos:], v)
					if j < 0 {
						break
					}
					m.hits = append(m.hits, litHit{start: pos + j, lit: sl.lit})
					pos += j + 1
				}
			}
		}
		slices.SortFunc(m.hits, cmpHits)
	}

	W := m.p.words
	n := len(b)
	curEnd := -1
	for _, h := range m.hits {
		if h.start > curEnd {
			lineStart := bytes.LastIndexByte(b[:h.start], '\n') + 1
			le := bytes.IndexByte(b[h.start:], '\n')
			if le < 0 {
				le = n
			} else {
				le += h.start
			}
			curEnd = le
			m.cands = append(m.cands, candLine{start: lineStart, end: le, bits: len(m.arena)})
			m.arena = slices.Grow(m.arena, W)[:len(m.arena)+W]
			clear(m.arena[len(m.arena)-W:])
		}
		words := m.arena[len(m.arena)-W:]
		for _, r := range ls.lits[h.lit].rules {
			words[r>>6] |= 1 << (uint(r) & 63)
		}
	}
}

type litHit struct {
	start int
	lit   int32
}

func cmpHits(a, b litHit) int { return a.start - b.start }

// anchoredPass runs the line-start-anchored residual rules on every line
// and records the lines they match, in order. Go's regexp on the raw line
// is Naive's semantics exactly (invalid UTF-8 included).
func (m *Matcher) anchoredPass(b []byte) {
	m.stats.ResidualScans++
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += off
		}
		if m.anch.Match(b[off:end]) {
			m.rlines = append(m.rlines, off, end)
		}
		off = end + 1
	}
}

// residualPass runs the line-local programs of the other rules without
// literals over the block and merges the lines they hit into m.rlines, in
// order. A hit is a real match of some residual rule on that line (see
// lineLocal).
func (m *Matcher) residualPass(block []byte) {
	m.stats.ResidualScans++
	m.rl2 = m.rl2[:0]
	m.blockScan(block)
	if len(m.rlines) == 0 {
		m.rlines, m.rl2 = m.rl2, m.rlines
		return
	}
	// Merge two sorted pair lists; rl2 ends up holding the result.
	a, b := m.rlines, m.rl2
	out := m.merge[:0]
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] < b[0]):
			out, a = append(out, a[0], a[1]), a[2:]
		case len(a) == 0 || b[0] < a[0]:
			out, b = append(out, b[0], b[1]), b[2:]
		default:
			out, a, b = append(out, a[0], a[1]), a[2:], b[2:]
		}
	}
	m.merge, m.rlines = m.rlines, out
}

// blockScan appends to m.rl2 the lines hit by the line-local RE2 programs.
func (m *Matcher) blockScan(block []byte) {
	b := block
	sanitized := false
	if !utf8.Valid(b) {
		// RE2 does not match invalid UTF-8 as Go does (one U+FFFD per bad
		// byte); scan a sanitised copy and map lines back.
		m.stats.InvalidUTF8++
		m.san, m.sanPos = sanitize(m.san[:0], m.sanPos[:0], b)
		b = m.san
		sanitized = true
	}
	n := len(b)
	searchEnd := n
	if b[n-1] == '\n' {
		searchEnd = n - 1
	}
	for pi := range m.resid {
		prog := &m.resid[pi]
		pos := 0
		for pos <= searchEnd {
			chunkEnd := searchEnd
			if pos+residualChunk < searchEnd {
				chunkEnd = pos + residualChunk
				if j := bytes.IndexByte(b[chunkEnd:searchEnd], '\n'); j >= 0 {
					chunkEnd += j
				} else {
					chunkEnd = searchEnd
				}
			}
			loc := prog.findIndex(b[pos:chunkEnd])
			if loc == nil {
				pos = chunkEnd + 1
				continue
			}
			hit := pos + loc[0]
			ls := pos + bytes.LastIndexByte(b[pos:hit], '\n') + 1
			le := bytes.IndexByte(b[hit:], '\n')
			if le < 0 {
				le = n
			} else {
				le += hit
			}
			m.rl2 = append(m.rl2, ls, le)
			pos = le + 1
		}
	}
	if len(m.resid) > 1 {
		m.rl2 = sortPairs(m.rl2)
	}
	if sanitized {
		k := 0
		for i, x := range m.rl2 {
			for k < len(m.sanPos) && m.sanPos[k] < x {
				k++
			}
			m.rl2[i] = x - 2*k
		}
	}
}

// sortPairs sorts (start, end) pairs by start, drops duplicates and returns
// the shortened slice.
func sortPairs(v []int) []int {
	// Insertion sort on pairs: residual programs are few and hits rare.
	for i := 2; i < len(v); i += 2 {
		for j := i; j >= 2 && v[j] < v[j-2]; j -= 2 {
			v[j], v[j-2] = v[j-2], v[j]
			v[j+1], v[j-1] = v[j-1], v[j+1]
		}
	}
	out := 0
	for i := 0; i < len(v); i += 2 {
		if out > 0 && v[out-2] == v[i] {
			continue
		}
		v[out], v[out+1] = v[i], v[i+1]
		out += 2
	}
	return v[:out]
}

// sanitize appends b to dst with every byte that Go's regexp would decode
// as utf8.RuneError of width 1 replaced by the UTF-8 encoding of U+FFFD, and
// records where (in dst) each replacement starts.
func sanitize(dst []byte, pos []int, b []byte) ([]byte, []int) {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			pos = append(pos, len(dst))
			dst = append(dst, "\uFFFD"...)
			i++
			continue
		}
		dst = append(dst, b[i:i+size]...)
		i += size
	}
	return dst, pos
}

// prepare records one candidate line in m.vlines with the rules it matches
// already (res) and the rules left to verify with RE2 (ver). lit holds the
// rules whose literals hit it (nil: none), resHit tells that a residual
// rule matched it.
func (m *Matcher) prepare(line []byte, start, end int, lit []uint64, resHit bool) {
	p := m.p
	m.stats.CandidateLines++
	W := p.words
	off := len(m.varena)
	m.varena = slices.Grow(m.varena, 2*W)[:off+2*W]
	res, ver := Bits(m.varena[off:off+W]), Bits(m.varena[off+W:off+2*W])
	nver := 0
	for w := range res {
		var l uint64
		if lit != nil {
			l = lit[w] & m.active[w]
		}
		res[w] = l & p.exact[w]
		v := l &^ p.exact[w]
		if resHit {
			v |= p.residual[w] & m.active[w]
		}
		ver[w] = v
		if v != 0 {
			nver += bits.OnesCount64(v)
		}
	}
	if resHit && len(p.resIdx) == 1 {
		// The only residual rule hit the line: that is a match.
		r := p.resIdx[0]
		if ver.Has(r) {
			res.Set(r)
			ver[r>>6] &^= 1 << (uint(r) & 63)
			nver--
		}
	}
	if nver > 0 {
		// Rules with further required literals absent from the line are
		// dropped before any RE2 work.
		for w, v := range ver {
			for v != 0 {
				r := w<<6 + bits.TrailingZeros64(v)
				v &= v - 1
				for k := range p.extra[r] {
					if !p.extra[r][k].in(line) {
						ver[w] &^= 1 << (uint(r) & 63)
						nver--
						break
					}
				}
			}
		}
	}
	m.vlines = append(m.vlines, vline{start: start, end: end, bits: off, nver: nver})
}

// verifyLine verifies the nver rules in ver on one candidate line with RE2
// and adds those that match to res.
func (m *Matcher) verifyLine(line []byte, res, ver Bits, nver int) error {
	if nver > 0 {
		l := line
		if !utf8.Valid(l) {
			m.stats.InvalidUTF8++
			m.san, m.sanPos = sanitize(m.san[:0], m.sanPos[:0], l)
			l = m.san
		}
		if nver <= perRuleMax || len(m.sets) == 0 {
			for w, v := range ver {
				for v != 0 {
					r := w<<6 + bits.TrailingZeros64(v)
					v &= v - 1
					if m.matchRule(r, l) {
						res.Set(r)
					}
				}
			}
		} else {
			for si := range m.sets {
				s := &m.sets[si]
				if !intersects(s.bits, ver) {
					continue
				}
				m.stats.SetEvals++
				ids, err := s.set.FindAllWithError(l, -1)
				if err != nil {
					if !errors.Is(err, experimental.ErrSetEvaluation) {
						return fmt.Errorf("cannot evaluate rule set: %w", err)
					}
					m.stats.SetFallbacks++
					for _, r := range s.rules {
						if ver.Has(r) && m.matchRule(r, l) {
							res.Set(r)
						}
					}
					continue
				}
				for _, id := range ids {
					if r := s.rules[id]; ver.Has(r) {
						res.Set(r)
					}
				}
			}
			// Rules in no set (RE2 refused them) are checked one by one.
			for w, v := range ver {
				for v != 0 {
					r := w<<6 + bits.TrailingZeros64(v)
					v &= v - 1
					if !m.inSet(r) && m.matchRule(r, l) {
						res.Set(r)
					}
				}
			}
		}
	}
	return nil
}

// batchVerify verifies, rule by rule, the candidate lines that verifyLine
// would verify rule by rule (at most perRuleMax rules left): for each rule,
// one search of its line-local program over all those lines joined by '\n',
// instead of one RE2 call per line. With go-re2's wasm backend every call
// copies its input into the one shared wasm memory through a shared
// allocator, which costs more than the search on short lines and does not
// scale across workers. Lines with more rules left go to go-re2 sets, per
// line, as before.
//
// Why the joined search is exact: the line-local program (lineLocal) has
// no way to match '\n' (classes lose it, '.' excludes it, a literal '\n'
// never matches) and its ^ $ \A \z are line anchors, so each of its matches
// lies within one line of the buffer and is a match of the rule on that
// line alone (\b and \B see the '\n' as the non-word end of text they see
// on the line alone). Conversely, if the rule matches line L alone, the
// search below reports a match in L: it searches chunks of whole lines and
// resumes at the start of the line after each hit line, and the leftmost
// match in a chunk starting at or before L's start that does not lie in an
// earlier line lies in L. So a line with a match matches the rule, and a
// line without one does not. A match spanning a '\n' cannot happen; if it
// did, the lines it touches would be left to verifyLine.
func (m *Matcher) batchVerify(block []byte) {
	W := m.p.words
	// Group the lines by rule, in block order (a counting sort over the
	// rules present only, so that 1,000 rules cost nothing per block).
	cnt := m.cnt
	m.rlist = m.rlist[:0]
	np := 0
	for i := range m.vlines {
		v := &m.vlines[i]
		if v.nver == 0 || (v.nver > perRuleMax && len(m.sets) > 0) {
			continue
		}
		for w, x := range m.varena[v.bits+W : v.bits+2*W] {
			for x != 0 {
				r := w<<6 + bits.TrailingZeros64(x)
				x &= x - 1
				if cnt[r] == 0 {
					m.rlist = append(m.rlist, int32(r))
				}
				cnt[r]++
				np++
			}
		}
	}
	if np == 0 {
		return
	}
	off := int32(0)
	for _, r := range m.rlist {
		c := cnt[r]
		cnt[r] = off
		off += c
	}
	m.pairs = slices.Grow(m.pairs[:0], np)[:np]
	for i := range m.vlines {
		v := &m.vlines[i]
		if v.nver == 0 || (v.nver > perRuleMax && len(m.sets) > 0) {
			continue
		}
		for w, x := range m.varena[v.bits+W : v.bits+2*W] {
			for x != 0 {
				r := w<<6 + bits.TrailingZeros64(x)
				x &= x - 1
				m.pairs[cnt[r]] = int32(i)
				cnt[r]++
			}
		}
	}
	// Rule rlist[k]'s lines are now pairs[end of rlist[k-1]:cnt[rlist[k]]].
	lo := int32(0)
	for _, r := range m.rlist {
		hi := cnt[r]
		cnt[r] = 0
		lines := m.pairs[lo:hi]
		lo = hi
		if re := m.lineRE(int(r)); re != nil {
			m.batchRule(block, int(r), re, lines)
		} // else verifyLine checks it
	}
}

// lineRE returns the line-local program of rule r, or nil if RE2 refuses it.
func (m *Matcher) lineRE(r int) *re2.Regexp {
	if re := m.lres[r]; re != nil || m.lresBad[r] {
		return re
	}
	re, err := re2.Compile(m.p.lineExprs[r])
	if err != nil {
		m.lresBad[r] = true
		return nil
	}
	m.lres[r] = re
	return re
}

// batchRule searches the lines (vlines indexes) for rule r at once and
// settles r on each of them (see batchVerify).
func (m *Matcher) batchRule(block []byte, r int, re *re2.Regexp, lines []int32) {
	W := m.p.words
	m.stats.BatchEvals++
	m.vbuf = m.vbuf[:0]
	m.vidx = m.vidx[:0]
	for _, li := range lines {
		v := &m.vlines[li]
		if len(m.vidx) > 0 {
			m.vbuf = append(m.vbuf, '\n')
		}
		m.vidx = append(m.vidx, vref{line: int(li), start: len(m.vbuf)})
		if l := block[v.start:v.end]; utf8.Valid(l) {
			m.vbuf = append(m.vbuf, l...)
		} else {
			// As Go's regexp sees it (see sanitize).
			m.stats.InvalidUTF8++
			m.vbuf, m.sanPos = sanitize(m.vbuf, m.sanPos[:0], l)
		}
	}
	// Search at most about batchChunk bytes of whole lines per call and
	// resume after the hit line, so that many hits or many matches in one
	// line cost neither quadratic copying nor one call per match. After a
	// hit the next call covers only about 512 bytes, growing 4x per miss:
	// hits come in runs (stack traces), and a call that finds a hit soon
	// should not have copied kilobytes it does not search.
	b, k := m.vbuf, 0
	lim := batchChunk
	for pos := 0; pos <= len(b); {
		end := len(b)
		if pos+lim < end {
			end = pos + lim
			if j := bytes.IndexByte(b[end:], '\n'); j >= 0 {
				end += j
			} else {
				end = len(b)
			}
		}
		loc := re.FindIndex(b[pos:end])
		if loc == nil {
			pos = end + 1
			lim = min(4*lim, batchChunk)
			continue
		}
		lim = 512
		s, e := pos+loc[0], pos+loc[1]
		for k+1 < len(m.vidx) && m.vidx[k+1].start <= s {
			k++
		}
		if m.vidx[k].hit != spanHit {
			m.vidx[k].hit = matchHit
		}
		// Defensive: a match across lines proves nothing.
		for k+1 < len(m.vidx) && m.vidx[k+1].start <= e {
			m.vidx[k].hit = spanHit
			k++
			m.vidx[k].hit = spanHit
		}
		if k+1 >= len(m.vidx) {
			break
		}
		k++
		pos = m.vidx[k].start
	}
	for _, x := range m.vidx {
		if x.hit == spanHit {
			continue // verifyLine checks it
		}
		v := &m.vlines[x.line]
		if x.hit == matchHit {
			Bits(m.varena[v.bits : v.bits+W]).Set(r)
		}
		m.varena[v.bits+W+r>>6] &^= 1 << (uint(r) & 63)
		v.nver--
	}
}

func (m *Matcher) inSet(r int) bool {
	for i := range m.sets {
		if m.sets[i].bits.Has(r) {
			return true
		}
	}
	return false
}

// matchRule evaluates rule r on one (valid UTF-8) line.
func (m *Matcher) matchRule(r int, line []byte) bool {
	m.stats.RuleEvals++
	re := m.res[r]
	if re == nil && m.std[r] == nil {
		var err error
		if re, err = re2.Compile(m.p.exprs[r]); err == nil {
			m.res[r] = re
		} else {
			// RE2 refuses some patterns Go accepts (program too large).
			m.std[r] = regexp.MustCompile(m.p.exprs[r])
		}
	}
	if re != nil {
		return re.FindIndex(line) != nil
	}
	return m.std[r].Match(line)
}
