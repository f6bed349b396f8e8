package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decoder walks the go-yaml AST into the config structs by reflection on
// their yaml tags. Walking the AST ourselves (rather than yaml.Unmarshal)
// gives a position for every value, lets us report every error of a file
// rather than the first, expands variables in values but never in keys, and
// records which keys were written, so that `cooldown: 0` and a missing
// cooldown can mean different things.
type decoder struct {
	file    string
	getenv  func(string) (string, bool)
	errs    ErrorList
	anchors map[string]ast.Node

	// val and key hold the positions of every value and key decoded, by
	// path ("rules[2].cooldown", "alerts.team.url"). A path in set was
	// written with a non-null value.
	val map[string]token.Position
	key map[string]token.Position
	set map[string]bool
	// failed holds the paths whose value could not be decoded, so that
	// validation does not also call them missing or empty.
	failed map[string]bool

	depth int // nesting of decode calls, bounded against recursive aliases
	raw   int // > 0 while decoding a value that is not expanded (literalFields)
}

// literalFields are matched against log lines, not settings: variables are
// not expanded in them, as the original never did. Lines like
// "${jndi:ldap://...}" are exactly what a rule may look for.
var literalFields = map[reflect.Type]map[string]bool{
	reflect.TypeFor[Rule]():      {"pattern": true, "text": true},
	reflect.TypeFor[RuleTests](): {"match": true, "no_match": true},
}

// maxDepth is far deeper than any valid config (about 5 levels) but stops a
// merge key or alias that refers to its own ancestor.
const maxDepth = 32

func newDecoder(file string, getenv func(string) (string, bool)) *decoder {
	return &decoder{
		file:    file,
		getenv:  getenv,
		anchors: map[string]ast.Node{},
		val:     map[string]token.Position{},
		key:     map[string]token.Position{},
		set:     map[string]bool{},
		failed:  map[string]bool{},
	}
}

// failAt records an error for the value at path.
func (d *decoder) failAt(path string, p token.Position, hint, format string, args ...any) {
	d.failed[path] = true
	d.errorAt(p, hint, format, args...)
}

func (d *decoder) errorAt(p token.Position, hint, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// at returns the best position for path: its value, else its key, else the
// nearest ancestor's, so errors about missing keys point at their parent.
func (d *decoder) at(path string) token.Position { return findPos(path, d.val, d.key) }

// keyAt prefers the key's position: "alerts.team is missing url" reads best
// pointing at `team:`.
func (d *decoder) keyAt(path string) token.Position { return findPos(path, d.key, d.val) }

// findPos looks path up in first, then second, walking up to its ancestors
// until one is found.
func findPos(path string, first, second map[string]token.Position) token.Position {
	for {
		if p, ok := first[path]; ok {
			return p
		}
		if p, ok := second[path]; ok {
			return p
		}
		if path == "" {
			return token.Position{}
		}
		if i := strings.LastIndexAny(path, ".["); i >= 0 {
			path = path[:i]
		} else {
			path = ""
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func pos(n ast.Node) token.Position {
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return pos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return pos(v.Key)
	case *ast.AnchorNode:
		return pos(v.Value)
	case *ast.TagNode:
		return pos(v.Value)
	}
	if n == nil || n.GetToken() == nil {
		return token.Position{}
	}
	return *n.GetToken().Position
}

func (d *decoder) collectAnchors(n ast.Node) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		if v.Name != nil {
			d.anchors[v.Name.GetToken().Value] = v.Value
		}
		d.collectAnchors(v.Value)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			d.collectAnchors(mv)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(v.Value)
	case *ast.SequenceNode:
		for _, x := range v.Values {
			d.collectAnchors(x)
		}
	case *ast.TagNode:
		d.collectAnchors(v.Value)
	}
}

// resolve strips anchors and tags and follows aliases, so the decoder sees
// the node that carries the value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for depth := 0; depth < 32; depth++ {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.anchors[v.Value.GetToken().Value]
			if !ok {
				d.errorAt(pos(v), "", "unknown alias `*%s`", v.Value.GetToken().Value)
				return nil
			}
			n = target
		default:
			return n
		}
	}
	return nil
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

func kindOf(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case nil, *ast.NullNode:
		return "nothing"
	default:
		return "a single value"
	}
}

var (
	durationType   = reflect.TypeFor[Duration]()
	stringListType = reflect.TypeFor[StringList]()
	thresholdType  = reflect.TypeFor[Threshold]()
)

// decode stores node into v (settable). path names v in errors and in the
// position maps.
func (d *decoder) decode(node ast.Node, v reflect.Value, path string) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.failAt(path, pos(node), "check for an alias (`*name`) that refers to a mapping containing it", "`%s` is nested too deeply", path)
		return
	}
	// Validation errors point where the value is used: at an alias, not
	// at its anchor.
	at := pos(node)
	if node != nil {
		if node = d.resolve(node); node == nil {
			d.failed[path] = true
			return
		}
	}
	if isNull(node) {
		// A key written without a value leaves the zero value (and the
		// default, since set[path] stays false).
		return
	}
	d.val[path] = at
	d.set[path] = true

	switch v.Type() {
	case durationType:
		s, ok := d.scalar(node, path)
		if !ok {
			return
		}
		dur, err := ParseDuration(s)
		if err != nil {
			d.failAt(path, pos(node), "", "`%s`: %v", path, err)
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	case stringListType:
		d.decodeStrings(node, v, path)
		return
	case thresholdType:
		s, ok := d.scalar(node, path)
		if !ok {
			return
		}
		t, err := ParseThreshold(s)
		if err != nil {
			hint := "the accepted form is " + ThresholdForm
			if strings.Contains(err.Error(), ThresholdForm) {
				hint = "" // the message already shows the form
			}
			d.failAt(path, pos(node), hint, "`%s`: %v", path, err)
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(node, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(node, v, path)
	case reflect.Map:
		d.decodeMap(node, v, path)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			d.decodeStrings(node, v, path)
			return
		}
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			d.failAt(path, pos(node), "", "`%s` must be a list, got %s", path, kindOf(node))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if s, ok := d.scalar(node, path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(node, path)
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.failAt(path, pos(node), "", "`%s` must be true or false, got %q", path, s)
			return
		}
		v.SetBool(b)
	case reflect.Int:
		s, ok := d.scalar(node, path)
		if !ok {
			return
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			d.failAt(path, pos(node), "", "`%s` must be a whole number, got %q", path, s)
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		s, ok := d.scalar(node, path)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.failAt(path, pos(node), "", "`%s` must be a number, got %q", path, s)
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("BUG: config: no decoder for %s at %s", v.Type(), path))
	}
}

// scalar returns the text of a scalar node, with variables expanded when
// the YAML value is a string (outside literalFields). Numbers and booleans are returned as written,
// so `chat_id: -1001234` is the string "-1001234".
func (d *decoder) scalar(node ast.Node, path string) (string, bool) {
	var s string
	switch n := node.(type) {
	case *ast.StringNode:
		s = n.Value
	case *ast.LiteralNode:
		s = n.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return node.GetToken().Value, true
	default:
		d.failAt(path, pos(node), "", "`%s` must be a single value, got %s", path, kindOf(node))
		return "", false
	}
	if d.raw > 0 {
		return s, true
	}
	out, err := expandEnv(s, d.getenv)
	if err != nil {
		p := pos(node)
		err.File, err.Line, err.Column = d.file, p.Line, p.Column+needleOffset(node, err.needle)
		err.Msg = "`" + path + "`: " + err.Msg
		d.errs = append(d.errs, err)
		d.failed[path] = true
		return "", false
	}
	return out, true
}

// needleOffset returns how far into the scalar node's source the needle
// starts, or 0 when that cannot be known for sure: a value spanning lines,
// or a needle that occurs more than once.
func needleOffset(node ast.Node, needle string) int {
	tk := node.GetToken()
	if needle == "" || tk == nil {
		return 0
	}
	raw := strings.TrimLeft(tk.Origin, " \t")
	i := strings.Index(raw, needle)
	if i < 0 || strings.Count(raw, needle) != 1 || strings.ContainsAny(raw[:i], "\r\n") {
		return 0
	}
	return i
}

// decodeStrings fills a []string or StringList from one scalar or a list of
// scalars; a lone scalar is a list of one, which is what users write for a
// single alert name or recipient.
func (d *decoder) decodeStrings(node ast.Node, v reflect.Value, path string) {
	var items []ast.Node
	if seq, ok := node.(*ast.SequenceNode); ok {
		items = seq.Values
	} else {
		items = []ast.Node{node}
	}
	out := reflect.MakeSlice(v.Type(), 0, len(items))
	for i, item := range items {
		at := pos(item)
		item = d.resolve(item)
		p := fmt.Sprintf("%s[%d]", path, i)
		if item == nil {
			d.failed[path] = true
			continue
		}
		if isNull(item) {
			d.failAt(path, pos(node), "", "`%s` has an empty entry", path)
			continue
		}
		d.val[p] = at
		if s, ok := d.scalar(item, p); ok {
			out = reflect.Append(out, reflect.ValueOf(s).Convert(v.Type().Elem()))
		} else {
			d.failed[path] = true
		}
	}
	v.Set(out)
}

type entry struct {
	key   string
	kpos  token.Position
	value ast.Node
}

// entries lists a mapping's keys and values, applying merge keys (`<<:
// *defaults`) with explicitly written keys taking precedence.
func (d *decoder) entries(node ast.Node, path string) ([]entry, bool) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.failAt(path, pos(node), "check for a merge key (`<<: *name`) that refers to a mapping containing it", "`%s` is nested too deeply", path)
		return nil, false
	}
	var values []*ast.MappingValueNode
	switch n := node.(type) {
	case *ast.MappingNode:
		values = n.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{n}
	default:
		what := "`" + path + "`"
		if path == "" {
			what = "the document"
		}
		d.failAt(path, pos(node), "", "%s must be a mapping of keys to values, got %s", what, kindOf(node))
		return nil, false
	}
	var out, merged []entry
	seen := map[string]bool{}
	for _, mv := range values {
		if mv.Key.IsMergeKey() {
			src := d.resolve(mv.Value)
			var srcs []ast.Node
			if seq, ok := src.(*ast.SequenceNode); ok {
				for _, s := range seq.Values {
					srcs = append(srcs, d.resolve(s))
				}
			} else {
				srcs = []ast.Node{src}
			}
			for _, s := range srcs {
				es, ok := d.entries(s, path)
				if !ok {
					continue
				}
				merged = append(merged, es...)
			}
			continue
		}
		k := d.resolve(mv.Key)
		if k == nil {
			continue
		}
		key := k.GetToken().Value
		if sn, ok := k.(*ast.StringNode); ok {
			key = sn.Value
		}
		seen[key] = true
		out = append(out, entry{key: key, kpos: pos(mv.Key), value: mv.Value})
	}
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e)
		}
	}
	return out, true
}

func (d *decoder) decodeMap(node ast.Node, v reflect.Value, path string) {
	es, ok := d.entries(node, path)
	if !ok {
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(es))
	for _, e := range es {
		p := join(path, e.key)
		d.key[p] = e.kpos
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(e.value, ev, p)
		m.SetMapIndex(reflect.ValueOf(e.key), ev)
	}
	v.Set(m)
}

type fieldInfo struct {
	index []int
	name  string
}

func fieldsOf(t reflect.Type) map[string]fieldInfo {
	out := map[string]fieldInfo{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = fieldInfo{index: f.Index, name: tag}
	}
	return out
}

func (d *decoder) decodeStruct(node ast.Node, v reflect.Value, path string) {
	es, ok := d.entries(node, path)
	if !ok {
		return
	}
	fields := fieldsOf(v.Type())
	for _, e := range es {
		f, ok := fields[e.key]
		if !ok {
			// Top-level `x-...` keys hold anchors for reuse, as in
			// docker-compose files; they configure nothing themselves.
			if path == "" && strings.HasPrefix(e.key, "x-") {
				continue
			}
			d.unknownKey(e, path, fields)
			continue
		}
		p := join(path, e.key)
		d.key[p] = e.kpos
		raw := literalFields[v.Type()][e.key]
		if raw {
			d.raw++
		}
		d.decode(e.value, v.FieldByIndex(f.index), p)
		if raw {
			d.raw--
		}
	}
}

func (d *decoder) unknownKey(e entry, path string, fields map[string]fieldInfo) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	where := "`" + path + "`"
	if path == "" {
		where = "the top level"
	}
	hint := "valid keys in " + where + ": " + quoteList(names)
	if s := suggest(e.key, names); s != "" {
		hint = "did you mean `" + s + "`?"
	}
	d.errorAt(e.kpos, hint, "unknown key `%s`", e.key)
}

// durationOr returns the decoded duration at path, or def when the key was
// not written.
func (d *decoder) durationOr(path string, got Duration, def time.Duration) Duration {
	if d.set[path] {
		return got
	}
	return Duration(def)
}
