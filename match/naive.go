package match

import (
	"bytes"
	"fmt"
	"regexp"
)

// Naive is the reference matcher: Go's regexp, every rule tried on every
// line, one at a time (the original TinyWatcher's method). Tests compare
// Matcher with it and benchmarks measure against it. Not safe for
// concurrent use.
type Naive struct {
	res   []*regexp.Regexp
	rules Bits
}

// NewNaive compiles the program's rules with the standard library.
func (p *Program) NewNaive() (*Naive, error) {
	n := &Naive{rules: NewBits(len(p.rules))}
	for i, e := range p.exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", p.rules[i].Name, err)
		}
		n.res = append(n.res, re)
	}
	return n, nil
}

// Scan has Matcher.Scan's contract.
func (n *Naive) Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error {
	for len(block) > 0 {
		var line []byte
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			line, block = block, nil
		}
		n.rules.Reset()
		for i, re := range n.res {
			if (mask == nil || mask.Has(i)) && re.Match(line) {
				n.rules.Set(i)
			}
		}
		if !n.rules.Empty() {
			fn(line, n.rules)
		}
	}
	return nil
}
