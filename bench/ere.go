package bench

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
)

// ToERE rewrites an RE2 expression as a POSIX extended regular expression
// for GNU `grep -E` in the C locale, keeping the set of matching ASCII
// lines: \d, \s, \w and Perl classes become bracket expressions, (?i)
// letters become [xX], (?:…) becomes (…), non-greedy repeats become greedy
// (the same lines match), \b and \B stay (GNU extensions). It fails for
// what ERE cannot say, such as non-ASCII classes.
func ToERE(expr string) (string, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := (dialect{}).write(&sb, re); err != nil {
		return "", fmt.Errorf("%q has no ERE form: %w", expr, err)
	}
	return sb.String(), nil
}

// ToRustRegex rewrites an RE2 expression for ripgrep (Rust's regex crate)
// with RE2's meaning: Perl classes and \b are ASCII in RE2 but Unicode in
// Rust, so classes become explicit ASCII sets and \b becomes (?-u:\b);
// the whole is wrapped in (?:…) because `rg -f` joins patterns with '|'
// and an inline flag such as (?i) would otherwise leak into the next
// patterns.
func ToRustRegex(expr string) (string, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString("(?:")
	if err := (dialect{rust: true}).write(&sb, re); err != nil {
		return "", fmt.Errorf("%q has no Rust regex form: %w", expr, err)
	}
	sb.WriteString(")")
	return sb.String(), nil
}

// dialect selects the output syntax: POSIX ERE (GNU grep) or Rust regex.
type dialect struct{ rust bool }

const ereSpecial = `.[]()*+?{}|^$\`

func (d dialect) write(sb *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		return fmt.Errorf("empty class")
	case syntax.OpEmptyMatch:
		sb.WriteString(d.open() + ")")
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if err := writeERELiteral(sb, r, re.Flags&syntax.FoldCase != 0); err != nil {
				return err
			}
		}
	case syntax.OpCharClass:
		if d.rust {
			return writeRustClass(sb, re.Rune)
		}
		return writeEREClass(sb, re.Rune)
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		sb.WriteByte('.')
	case syntax.OpBeginLine, syntax.OpBeginText:
		sb.WriteByte('^')
	case syntax.OpEndLine, syntax.OpEndText:
		sb.WriteByte('$')
	case syntax.OpWordBoundary:
		sb.WriteString(map[bool]string{false: `\b`, true: `(?-u:\b)`}[d.rust])
	case syntax.OpNoWordBoundary:
		sb.WriteString(map[bool]string{false: `\B`, true: `(?-u:\B)`}[d.rust])
	case syntax.OpCapture:
		sb.WriteString(d.open())
		if err := d.write(sb, re.Sub[0]); err != nil {
			return err
		}
		sb.WriteByte(')')
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if err := d.atom(sb, re.Sub[0]); err != nil {
			return err
		}
		switch re.Op {
		case syntax.OpStar:
			sb.WriteByte('*')
		case syntax.OpPlus:
			sb.WriteByte('+')
		case syntax.OpQuest:
			sb.WriteByte('?')
		default:
			sb.WriteByte('{')
			sb.WriteString(strconv.Itoa(re.Min))
			if re.Max != re.Min {
				sb.WriteByte(',')
				if re.Max >= 0 {
					sb.WriteString(strconv.Itoa(re.Max))
				}
			}
			sb.WriteByte('}')
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if s.Op == syntax.OpAlternate {
				if err := d.group(sb, s); err != nil {
					return err
				}
				continue
			}
			if err := d.write(sb, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		for i, s := range re.Sub {
			if i > 0 {
				sb.WriteByte('|')
			}
			if err := d.write(sb, s); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported operator %v", re.Op)
	}
	return nil
}

// writeEREAtom writes re so that a following repetition applies to all of it.
func (d dialect) atom(sb *strings.Builder, re *syntax.Regexp) error {
	switch {
	case re.Op == syntax.OpCharClass, re.Op == syntax.OpAnyChar, re.Op == syntax.OpAnyCharNotNL, re.Op == syntax.OpCapture:
		return d.write(sb, re)
	case re.Op == syntax.OpLiteral && len(re.Rune) == 1:
		return d.write(sb, re)
	}
	return d.group(sb, re)
}

func (d dialect) group(sb *strings.Builder, re *syntax.Regexp) error {
	sb.WriteString(d.open())
	if err := d.write(sb, re); err != nil {
		return err
	}
	sb.WriteByte(')')
	return nil
}

func (d dialect) open() string {
	if d.rust {
		return "(?:"
	}
	return "("
}

// writeRustClass writes a class as Rust regex, every member other than a
// letter or digit as \x{..}, so no set operator (&&, --, ~~) or escape
// can be misread.
func writeRustClass(sb *strings.Builder, ranges []rune) error {
	sb.WriteByte('[')
	esc := func(r rune) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			sb.WriteRune(r)
		} else {
			fmt.Fprintf(sb, `\x{%x}`, r)
		}
	}
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		// Lines hold no '\n', and ripgrep refuses patterns naming it.
		for _, r := range [][2]rune{{ranges[i], min(ranges[i+1], '\n'-1)}, {max(ranges[i], '\n'+1), ranges[i+1]}} {
			if r[0] > r[1] {
				continue
			}
			esc(r[0])
			if r[1] != r[0] {
				sb.WriteByte('-')
				esc(r[1])
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("empty class")
	}
	sb.WriteByte(']')
	return nil
}

func writeERELiteral(sb *strings.Builder, r rune, fold bool) error {
	if r == '\n' {
		return fmt.Errorf("newline in pattern")
	}
	if fold {
		lo, up := unicode.ToLower(r), unicode.ToUpper(r)
		if lo != up && lo < 0x80 && up < 0x80 {
			sb.WriteByte('[')
			sb.WriteRune(up)
			sb.WriteRune(lo)
			sb.WriteByte(']')
			return nil
		}
	}
	if r >= 0x80 {
		sb.WriteRune(r) // its UTF-8 bytes, matched as bytes in the C locale
		return nil
	}
	if strings.ContainsRune(ereSpecial, r) {
		sb.WriteByte('\\')
	}
	sb.WriteRune(r)
	return nil
}

// foldOnly are the non-ASCII runes that (?i) adds to ASCII letters' classes
// (ſ for s, K for k); dropping them keeps every ASCII line's result.
var foldOnly = map[rune]bool{0x17F: true, 0x212A: true}

func writeEREClass(sb *strings.Builder, ranges []rune) error {
	var in [128]bool
	allHigh := false // the class holds every rune from 0x80 up: a negated class
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo <= 0x80 && hi >= unicode.MaxRune {
			allHigh = true
		}
		for r := lo; r <= hi && r < 0x80; r++ {
			in[r] = true
		}
		if hi >= 0x80 && !allHigh {
			for r := max(lo, 0x80); r <= hi; r++ {
				if !foldOnly[r] {
					return fmt.Errorf("non-ASCII class range %U-%U", lo, hi)
				}
			}
		}
	}
	in['\n'] = false // lines never hold a newline
	want := !allHigh // members to list: the class's, or its complement's
	var members []byte
	for r := 0; r < 128; r++ {
		if r != '\n' && in[r] == want {
			members = append(members, byte(r))
		}
	}
	switch {
	case len(members) == 0 && want:
		return fmt.Errorf("empty class")
	case len(members) == 0:
		sb.WriteByte('.')
		return nil
	case len(members) == 1 && want:
		return writeERELiteral(sb, rune(members[0]), false)
	}
	// In a bracket expression ']' must come first, '-' last, '^' not first,
	// and a backslash is literal.
	var head, body, tail []byte
	for i := 0; i < len(members); i++ {
		switch c := members[i]; c {
		case ']':
			head = append(head, c)
		case '-':
			tail = append(tail, c)
		case '^':
			tail = append([]byte{c}, tail...)
		default:
			j := i
			for j+1 < len(members) && members[j+1] == members[j]+1 && !strings.ContainsRune("]-^", rune(members[j+1])) {
				j++
			}
			if j-i >= 2 {
				body = append(body, c, '-', members[j])
			} else {
				body = append(body, members[i:j+1]...)
			}
			i = j
		}
	}
	if want && len(head) == 0 && len(body) == 0 && tail[0] == '^' {
		tail = append(tail[1:], '^') // "[-^]": '^' not first
	}
	if want {
		sb.WriteByte('[')
	} else {
		sb.WriteString("[^")
	}
	sb.Write(head)
	sb.Write(body)
	sb.Write(tail)
	sb.WriteByte(']')
	return nil
}
