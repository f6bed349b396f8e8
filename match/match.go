package match

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/wasilibs/go-re2"
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
	rules []Rule
	exprs []string // one RE2 expression per rule
}

// Compile validates every rule and builds the program. Errors name the
// rule and the offending part of its pattern.
func Compile(rules []Rule) (*Program, error) {
	p := &Program{rules: append([]Rule(nil), rules...)}
	for _, r := range rules {
		expr, err := RuleExpr(r)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		p.exprs = append(p.exprs, expr)
	}
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

// Matcher scans blocks for one worker. It is not safe for concurrent use.
type Matcher struct {
	p     *Program
	res   []*re2.Regexp
	rules Bits
}

// NewMatcher compiles the program for one worker.
func (p *Program) NewMatcher() (*Matcher, error) {
	m := &Matcher{p: p, rules: NewBits(len(p.rules))}
	for i, e := range p.exprs {
		re, err := re2.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", p.rules[i].Name, err)
		}
		m.res = append(m.res, re)
	}
	return m, nil
}

// Scan calls fn for every line of block that matches at least one rule in
// mask (nil mask: every rule), in order. block holds whole lines, each
// ended by '\n' except perhaps the last. line excludes the '\n'; line and
// rules are valid only until fn returns and must not be retained.
func (m *Matcher) Scan(block []byte, mask Bits, fn func(line []byte, rules Bits)) error {
	for len(block) > 0 {
		var line []byte
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			line, block = block, nil
		}
		m.rules.Reset()
		for i, re := range m.res {
			if mask != nil && !mask.Has(i) {
				continue
			}
			if re.Match(line) {
				m.rules.Set(i)
			}
		}
		if !m.rules.Empty() {
			fn(line, m.rules)
		}
	}
	return nil
}
