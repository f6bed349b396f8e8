package match

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Required-literal analysis (Russ Cox's codesearch "trigram" query, Loki's
// and VictoriaLogs' GetLiterals): for a parsed rule we compute a set of
// literals at least one of which occurs in every line the rule matches.
// Lines that contain none of a rule's literals are never given to RE2 for
// that rule.
//
// Literals are byte strings. A case-folded literal (fold) is stored in ASCII
// lower case and searched ASCII-case-insensitively; it only ever holds bytes
// whose Unicode case-fold orbit is ASCII, so that an ASCII-insensitive search
// finds every place Go's (?i) matching could match ('k' also folds to the
// Kelvin sign U+212A and 's' to U+017F, so those letters end a folded
// literal). Literals never contain '\n' (a line has none) nor U+FFFD (Go
// matches U+FFFD against any invalid byte).

const (
	maxExact = 32 // largest exact set kept while crossing concatenations
	maxReq   = 32 // largest "one of these literals" set
	// minLitLen is the shortest literal worth a prefilter entry; shorter
	// requirements make the rule a residual rule (run by RE2 on the block).
	minLitLen = 2
)

// litInfo is what a syntax node tells about the strings it matches.
type litInfo struct {
	// exact, when non-nil, is every string the node can match (at most
	// maxExact of them; "" allowed).
	exact []string
	// req, when non-nil, is a set of non-empty literals one of which occurs
	// in every match. nil means no requirement is known.
	req  []string
	fold bool // exact and req are lower-cased and searched case-insensitively
}

// foldSafe reports whether r can be part of an ASCII-case-insensitive
// literal standing for Go's (?i) matching of r.
func foldSafe(r rune) bool {
	if r >= utf8.RuneSelf || r == '\n' {
		return false
	}
	switch r {
	case 'k', 'K', 's', 'S':
		return false
	}
	return true
}

// plainSafe reports whether r can be part of a case-sensitive literal.
func plainSafe(r rune) bool {
	return r != '\n' && r != utf8.RuneError && r <= utf8.MaxRune
}

func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// reqScore rates a requirement set: longer shortest literal is better,
// then fewer literals, then case-sensitive.
func reqScore(req []string, fold bool) int {
	if len(req) == 0 {
		return -1
	}
	m := len(req[0])
	for _, s := range req {
		m = min(m, len(s))
	}
	if m == 0 {
		return -1
	}
	sc := min(m, 16)*1024 - len(req)*8
	if !fold {
		sc++
	}
	return sc
}

func dedupe(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// reqOf turns a node's exact set into a requirement if it can serve as one.
func (li litInfo) reqSet() ([]string, bool) {
	if li.exact != nil && !slices.Contains(li.exact, "") {
		if li.req == nil || reqScore(li.exact, li.fold) >= reqScore(li.req, li.fold) {
			return li.exact, true
		}
	}
	return li.req, li.req != nil
}

func literalsOf(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return runsInfo(re.Rune, foldSafe, true)
		}
		return runsInfo(re.Rune, plainSafe, false)
	case syntax.OpCharClass:
		// Small classes such as [ab] become exact sets.
		n := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > 4 {
				return litInfo{}
			}
		}
		var ex []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if !plainSafe(r) {
					return litInfo{}
				}
				ex = append(ex, string(r))
			}
		}
		if len(ex) == 0 {
			return litInfo{}
		}
		return litInfo{exact: ex}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: []string{""}}
	case syntax.OpCapture:
		return literalsOf(re.Sub[0])
	case syntax.OpQuest:
		li := literalsOf(re.Sub[0])
		if li.exact != nil && len(li.exact) < maxExact {
			return litInfo{exact: dedupe(append(slices.Clone(li.exact), "")), fold: li.fold}
		}
		return litInfo{}
	case syntax.OpPlus:
		li := literalsOf(re.Sub[0])
		req, _ := li.reqSet()
		return litInfo{req: req, fold: li.fold}
	case syntax.OpRepeat:
		if re.Min == 0 {
			return litInfo{}
		}
		li := literalsOf(re.Sub[0])
		req, _ := li.reqSet()
		return litInfo{req: req, fold: li.fold}
	case syntax.OpConcat:
		return concatInfo(re.Sub)
	case syntax.OpAlternate:
		return alternateInfo(re.Sub)
	}
	// OpAnyChar, OpAnyCharNotNL, OpStar, OpNoMatch: nothing known.
	return litInfo{}
}

// runsInfo handles a literal: exact when every rune is safe, else the
// longest run of safe runes as a requirement.
func runsInfo(runes []rune, safe func(rune) bool, fold bool) litInfo {
	var best, cur []rune
	all := true
	for _, r := range runes {
		if safe(r) {
			cur = append(cur, r)
			continue
		}
		all = false
		if len(string(cur)) > len(string(best)) {
			best = cur
		}
		cur = nil
	}
	if all {
		s := string(runes)
		if fold {
			s = lowerASCII(s)
		}
		return litInfo{exact: []string{s}, fold: fold}
	}
	if len(string(cur)) > len(string(best)) {
		best = cur
	}
	if len(best) == 0 {
		return litInfo{}
	}
	s := string(best)
	if fold {
		s = lowerASCII(s)
	}
	return litInfo{req: []string{s}, fold: fold}
}

func cross(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return dedupe(out)
}

func foldAll(ss []string, fold bool) []string {
	if !fold {
		return ss
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = lowerASCII(s)
	}
	return out
}

// reqCand is one requirement found in a concatenation.
type reqCand struct {
	req  []string
	fold bool
}

func concatInfo(subs []*syntax.Regexp) litInfo {
	li, _ := concatCandidates(subs)
	return li
}

// concatCandidates returns the concatenation's info and every requirement
// found along it (each of which holds for every match, since every part
// of a concatenation matches).
func concatCandidates(subs []*syntax.Regexp) (litInfo, []reqCand) {
	var (
		cands    []reqCand
		best     []string
		bestFold bool
		bestSc   = -1
	)
	consider := func(req []string, fold bool) {
		sc := reqScore(req, fold)
		if sc < 0 {
			return
		}
		cands = append(cands, reqCand{req, fold})
		if sc > bestSc {
			best, bestFold, bestSc = req, fold, sc
		}
	}
	cur, curFold := []string{""}, false
	allExact := true
	for _, sub := range subs {
		li := literalsOf(sub)
		if li.exact != nil {
			if len(cur)*len(li.exact) <= maxExact {
				f := curFold || li.fold
				cur, curFold = cross(foldAll(cur, f && !curFold), foldAll(li.exact, f && !li.fold)), f
				continue
			}
			// Too many combinations: close the run, start a new one.
			allExact = false
			consider(cur, curFold)
			cur, curFold = li.exact, li.fold
			continue
		}
		allExact = false
		consider(cur, curFold)
		cur, curFold = []string{""}, false
		if req, ok := li.reqSet(); ok {
			consider(req, li.fold)
		}
	}
	if allExact {
		return litInfo{exact: cur, fold: curFold}, nil
	}
	consider(cur, curFold)
	if bestSc < 0 {
		return litInfo{}, nil
	}
	return litInfo{req: best, fold: bestFold}, cands
}

func alternateInfo(subs []*syntax.Regexp) litInfo {
	infos := make([]litInfo, len(subs))
	fold := false
	allExact := true
	n := 0
	for i, sub := range subs {
		infos[i] = literalsOf(sub)
		fold = fold || infos[i].fold
		if infos[i].exact == nil {
			allExact = false
		} else {
			n += len(infos[i].exact)
		}
	}
	if allExact && n <= maxExact {
		var ex []string
		for _, li := range infos {
			ex = append(ex, foldAll(li.exact, fold && !li.fold)...)
		}
		return litInfo{exact: dedupe(ex), fold: fold}
	}
	var req []string
	for _, li := range infos {
		r, ok := li.reqSet()
		if !ok {
			return litInfo{}
		}
		req = append(req, foldAll(r, fold && !li.fold)...)
	}
	req = dedupe(req)
	if len(req) > maxReq {
		return litInfo{}
	}
	return litInfo{req: req, fold: fold}
}

// ruleLiterals returns the prefilter literals of a parsed rule, or ok=false
// when the rule has no usable requirement (a residual rule). exact reports
// that the rule is the single literal itself: a hit is a match. extra are
// further requirements of a top-level concatenation (all of them hold in a
// matching line, on top of lits): a cheap per-line check before RE2.
func ruleLiterals(re *syntax.Regexp) (lits []string, fold, exact, ok bool, extra []reqCand) {
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	li := literalsOf(re)
	req, has := li.reqSet()
	if !has || reqScore(req, li.fold) < 0 {
		return nil, false, false, false, nil
	}
	for _, s := range req {
		if len(s) < minLitLen {
			return nil, false, false, false, nil
		}
	}
	// Exact: the rule's language is the finite set li.exact and it has no
	// assertions, so it matches a line iff one of those strings occurs in
	// it; with case folding only if every part folds the same way.
	exact = li.exact != nil && slices.Equal(li.exact, req) && uniformLiterals(re, li.fold)
	if re.Op == syntax.OpConcat {
		_, cands := concatCandidates(re.Sub)
		for _, c := range cands {
			if c.fold == li.fold && slices.Equal(c.req, req) {
				continue
			}
			extra = append(extra, c)
			if len(extra) == 3 {
				break
			}
		}
	}
	return req, li.fold, exact, true, extra
}

// uniformLiterals reports whether re is built only of literals, small
// classes (case-sensitive only), concatenation, alternation, capture and ?,
// with every literal folded iff fold: then literalsOf's exact set is its
// whole language and a literal search decides a match.
func uniformLiterals(re *syntax.Regexp, fold bool) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return (re.Flags&syntax.FoldCase != 0) == fold
	case syntax.OpCharClass:
		return !fold
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpConcat, syntax.OpAlternate, syntax.OpCapture, syntax.OpQuest:
		for _, sub := range re.Sub {
			if !uniformLiterals(sub, fold) {
				return false
			}
		}
		return true
	}
	return false
}

// anchoredStart reports whether every match of re starts at the start of
// the text (per line: at the line start): ^ or \A first in every branch.
func anchoredStart(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText, syntax.OpBeginLine:
		return true
	case syntax.OpCapture:
		return anchoredStart(re.Sub[0])
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredStart(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredStart(sub) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

// lineLocal rewrites a parsed rule so that, run over a block of many lines,
// it matches exactly where the rule matches within one line: nothing may
// match '\n', and ^ $ \A \z mean line start and end. The block scan of
// residual rules relies on it: a hit is a real match on the line it is in.
func lineLocal(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpAnyChar:
		re.Op = syntax.OpAnyCharNotNL
	case syntax.OpBeginText:
		re.Op = syntax.OpBeginLine
	case syntax.OpEndText:
		re.Op = syntax.OpEndLine
		re.Flags &^= syntax.WasDollar
	case syntax.OpLiteral:
		if slices.Contains(re.Rune, '\n') {
			*re = syntax.Regexp{Op: syntax.OpNoMatch}
		}
	case syntax.OpCharClass:
		var out []rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if lo <= '\n' && '\n' <= hi {
				if lo < '\n' {
					out = append(out, lo, '\n'-1)
				}
				if hi > '\n' {
					out = append(out, '\n'+1, hi)
				}
				continue
			}
			out = append(out, lo, hi)
		}
		if len(out) == 0 {
			*re = syntax.Regexp{Op: syntax.OpNoMatch}
		} else {
			re.Rune = out
		}
	}
	for _, sub := range re.Sub {
		lineLocal(sub)
	}
	return re
}
