package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration file, at a position.
type Error struct {
	File   string // the path given to Load/Parse, or "<config>" for bytes
	Line   int    // 1-based; 0 when the problem has no position
	Column int    // 1-based
	Msg    string // what is wrong, lowercase
	Hint   string // how to fix it; may be empty

	// needle is the source text the error is about (e.g. "${TOKEN"), used
	// to move the column from the start of a value to the text itself.
	needle string
}

// Pos returns "file:line:column" (or just the file when there is no line).
func (e *Error) Pos() string {
	if e.Line <= 0 {
		return e.File
	}
	return fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
}

// Error returns "file:line:column: msg — hint".
func (e *Error) Error() string {
	s := e.Pos() + ": " + e.Msg
	if e.Hint != "" {
		s += " — " + e.Hint
	}
	return s
}

// ErrorList is every problem found in one file, ordered by position. Its
// message has one problem per line, so its first line is the first problem.
// errors.As(err, new(*Error)) finds the first one.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As and errors.Is see each *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Column < l[j].Column
	})
}

// suggest returns the candidate nearest to s by edit distance, or "" when
// none is close enough to be the likely intended word. The bound keeps
// "did you mean" from proposing unrelated keys for short typos.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quoteList renders names as "`a`, `b`, `c`" for hints.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}
