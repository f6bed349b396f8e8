package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// LoadOptions makes the outside world that loading consults replaceable in
// tests. A nil field takes the default given beside it.
type LoadOptions struct {
	// Getenv looks up variables for `${VAR}`; default os.LookupEnv.
	Getenv func(name string) (value string, ok bool)
	// Hostname is the default identity name; default os.Hostname.
	Hostname func() (string, error)
	// Glob expands each inputs.files entry to warn about those that match
	// nothing. Parse and ParseWith leave it nil (no file system check);
	// Load uses filepath.Glob.
	Glob func(pattern string) ([]string, error)
}

// Load reads, expands, decodes, defaults and validates the file at path. It
// also warns (in Config.Warnings) about inputs.files entries that match no
// file yet. On failure the error is an ErrorList.
func Load(path string) (*Config, error) {
	return LoadWith(path, LoadOptions{Glob: filepath.Glob})
}

// LoadWith is Load with replaceable lookups.
func LoadWith(path string, opt LoadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return ParseWith(data, path, opt)
}

// Parse decodes a configuration from data; path names it in errors. It does
// not look at the file system.
func Parse(data []byte, path string) (*Config, error) {
	return ParseWith(data, path, LoadOptions{})
}

// ParseWith is Parse with replaceable lookups.
func ParseWith(data []byte, path string, opt LoadOptions) (*Config, error) {
	if opt.Getenv == nil {
		opt.Getenv = os.LookupEnv
	}
	if opt.Hostname == nil {
		opt.Hostname = os.Hostname
	}
	file := path
	if file == "" {
		file = "<config>"
	}
	d := newDecoder(file, opt.Getenv)
	cfg := &Config{Path: path}

	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, ErrorList{syntaxError(file, err)}
	}
	docs := 0
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		docs++
		if docs > 1 {
			d.errorAt(pos(doc.Body), "put everything in one document", "more than one YAML document (`---`)")
			break
		}
		d.collectAnchors(doc.Body)
		d.decode(doc.Body, reflect.ValueOf(cfg).Elem(), "")
	}
	// Validation runs even after decoding errors, so one run reports every
	// problem; it skips values that failed to decode (decoder.failed)
	// rather than calling them missing.
	v := &validator{d: d, cfg: cfg, opt: opt}
	v.run()
	cfg.Warnings = v.warnings
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return cfg, nil
}

// syntaxError turns a go-yaml parse error into an *Error at its token.
func syntaxError(file string, err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &Error{File: file, Msg: "invalid YAML: " + ye.GetMessage(), Hint: "check the indentation and quoting around this position"}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return &Error{File: file, Msg: "invalid YAML: " + err.Error()}
}
