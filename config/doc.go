// Package config loads and validates a TinyWatcher YAML configuration.
//
// Load reads a file; Parse and ParseWith take bytes. The returned *Config is
// fully resolved: `${VAR}`, `$VAR` and `${VAR:-default}` are expanded in
// scalar values, every default is applied (so callers never test for zero
// values), alert and stream names are filled in, and every cross-reference
// (rule → alert, rule → stream, resources/system check → alert) is checked.
//
// Decoding is strict: an unknown key is an error. Every problem in a file is
// reported, not just the first, as an ErrorList of *Error values, each with
// the file, line and column of the offending node and, where one helps, a
// hint ("did you mean `cooldown`?"). Problems that do not stop start-up (a
// glob that matches nothing yet, a rule source that no input provides) are
// returned in Config.Warnings.
//
// The package imports only the standard library and goccy/go-yaml; regular
// expressions are checked with regexp/syntax, whose Perl flags accept the
// RE2 syntax the matcher compiles.
package config
