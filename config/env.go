package config

import "strings"

// expandEnv replaces `${VAR}`, `$VAR` and `${VAR:-default}` in s, and `$$`
// with a literal `$`. A `$` not followed by a name, `{` or `$` stays as it
// is, so regular expressions ending in `$` or using `$1` need no escaping.
//
// `${VAR:-default}` uses default when VAR is unset or empty, as in sh. The
// default is taken literally (no nested expansion). A variable that is unset
// and has no default is an error: the original silently used "", which turns
// a missing secret into an alert destination that fails at 3 a.m.
func expandEnv(s string, getenv func(string) (string, bool)) (string, *Error) {
	if strings.IndexByte(s, '$') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		next := s[i+1]
		switch {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", &Error{Msg: "unterminated `${` in `" + s + "`", Hint: "close it with `}`, or write `$$` for a literal `$`", needle: s[i:]}
			}
			expr := s[i+2 : i+2+end]
			name, def, hasDef := expr, "", false
			if k := strings.Index(expr, ":-"); k >= 0 {
				name, def, hasDef = expr[:k], expr[k+2:], true
			}
			if !validEnvName(name) {
				return "", &Error{Msg: "invalid variable name `" + name + "` in `${" + expr + "}`", Hint: "names are letters, digits and `_`, not starting with a digit; write `$$` for a literal `$`", needle: "${" + expr + "}"}
			}
			v, ok := getenv(name)
			switch {
			case hasDef && v == "":
				v = def
			case !ok:
				return "", &Error{Msg: "environment variable `" + name + "` is not set", Hint: "export it, or give a default: `${" + name + ":-value}`", needle: "${" + expr}
			}
			b.WriteString(v)
			i += 2 + end
		case isNameStart(next):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			name := s[i+1 : j]
			v, ok := getenv(name)
			if !ok {
				return "", &Error{Msg: "environment variable `" + name + "` is not set", Hint: "export it, give a default with `${" + name + ":-value}`, or write `$$` for a literal `$`", needle: "$" + name}
			}
			b.WriteString(v)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }
