package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/token"
)

// Defaults applied by Load. They are exported so that docs, the CLI's
// summary and tests quote one source of truth.
const (
	DefaultCooldown          = 60 * time.Second
	DefaultReconnectDelay    = 5 * time.Second
	DefaultStreamIdleTimeout = 60 * time.Second // websocket and http; tcp has none
	DefaultResourcesInterval = 10 * time.Second
	DefaultCheckInterval     = 30 * time.Second
	DefaultCheckTimeout      = 5 * time.Second
	DefaultMissedThreshold   = 2
	DefaultHeartbeatInterval = 60 * time.Second
	DefaultMaxLineBytes      = 64 << 10
	DefaultBlockBytes        = 64 << 10
	DefaultStdoutFormat      = "text"
	DefaultHTTPMethod        = "GET"

	// Bounds on the settings: below them the per-block overhead dominates,
	// above them one source can pin a large share of memory.
	minLineBytes  = 256
	minBlockBytes = 4 << 10
	maxBufBytes   = 64 << 20
)

// alertSpec lists the keys each alert type requires and accepts besides
// `type`.
type alertSpec struct{ required, optional []string }

var alertSpecs = map[string]alertSpec{
	"stdout":    {optional: []string{"format"}},
	"slack":     {required: []string{"url"}},
	"discord":   {required: []string{"url"}},
	"telegram":  {required: []string{"bot_token", "chat_id"}},
	"pagerduty": {required: []string{"routing_key"}},
	"ntfy":      {required: []string{"topic"}, optional: []string{"server"}},
	"webhook":   {required: []string{"url"}},
	"email":     {required: []string{"from", "to"}, optional: []string{"smtp_server"}},
	"sendgrid":  {required: []string{"api_key", "from", "to"}},
}

// KnownAlertTypes returns the alert types a config may use, sorted.
func KnownAlertTypes() []string {
	out := make([]string, 0, len(alertSpecs))
	for t := range alertSpecs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// StreamTypes returns the stream types a config may use.
func StreamTypes() []string { return []string{"websocket", "http", "tcp"} }

type validator struct {
	d        *decoder
	cfg      *Config
	opt      LoadOptions
	warnings []string

	alertNames  []string // sorted, for hints
	streamNames []string // in config order, for hints
}

func (v *validator) errorf(p token.Position, hint, format string, args ...any) {
	v.d.errorAt(p, hint, format, args...)
}

func (v *validator) warnf(p token.Position, format string, args ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf("%s:%d:%d: ", v.d.file, p.Line, p.Column)+fmt.Sprintf(format, args...))
}

func (v *validator) run() {
	c := v.cfg
	if c.Identity.Name == "" {
		h, err := v.opt.Hostname()
		if err != nil || h == "" {
			h = "unknown" // what the original reports in this case
			v.warnf(v.d.at("identity"), "cannot read the hostname (%v); identity.name defaults to %q", err, h)
		}
		c.Identity.Name = h
	}
	v.alerts()
	v.inputs()
	v.rules()
	v.resources()
	v.systemChecks()
	v.heartbeat()
	v.settings()
	if len(c.Rules) == 0 && c.Resources == nil && len(c.SystemChecks) == 0 && c.Heartbeat == nil {
		v.warnf(token.Position{Line: 1, Column: 1}, "the config has no rules, resources, system_checks or heartbeat, so it never alerts")
	}
	in := c.Inputs
	if len(c.Rules) > 0 && len(in.Files)+len(in.Containers)+len(in.Streams) == 0 {
		v.warnf(v.d.keyAt("rules"), "rules are defined but inputs lists no file, container or stream to match them against")
	}
}

// refs checks that every name in list (at path) is a defined alert.
func (v *validator) refs(list StringList, path, what string) {
	if v.d.failed[path] {
		return
	}
	if len(list) == 0 {
		v.errorf(v.d.keyAt(path), "defined alerts: "+quoteList(v.alertNames), "%s has no alert", what)
		return
	}
	for i, name := range list {
		if _, ok := v.cfg.Alerts[name]; ok {
			continue
		}
		v.unknownRef(fmt.Sprintf("%s[%d]", path, i), what, "alert", name, "defined alerts", v.alertNames)
	}
}

// uniqueName records name as the one at list[i], or reports it as a
// duplicate pointing at the line of its first use.
func (v *validator) uniqueName(seen map[string]int, list, kind, name string, i int) {
	if j, dup := seen[name]; dup {
		v.errorf(v.d.at(fmt.Sprintf("%s[%d].name", list, i)), kind+" names must be unique",
			"duplicate %s name `%s`, first defined at line %d", kind, name, v.d.at(fmt.Sprintf("%s[%d].name", list, j)).Line)
		return
	}
	seen[name] = i
}

// unknownRef reports a reference to a name that is not defined, with the
// nearest defined one and the list of them as the hint.
func (v *validator) unknownRef(path, what, kind, name, listTitle string, known []string) {
	hint := listTitle + ": " + quoteList(known)
	if s := suggest(name, known); s != "" {
		hint = "did you mean `" + s + "`? " + hint
	}
	v.errorf(v.d.at(path), hint, "%s refers to unknown %s `%s`", what, kind, name)
}

func (v *validator) alerts() {
	for name := range v.cfg.Alerts {
		v.alertNames = append(v.alertNames, name)
	}
	sort.Strings(v.alertNames)
	fields := fieldsOf(reflect.TypeFor[Alert]())
	for _, name := range v.alertNames {
		a := v.cfg.Alerts[name]
		a.Name = name
		path := "alerts." + name
		if v.d.failed[path] || v.d.failed[path+".type"] {
			v.cfg.Alerts[name] = a
			continue
		}
		what := "alert `" + name + "`"
		spec, ok := alertSpecs[a.Type]
		switch {
		case a.Type == "":
			v.errorf(v.d.keyAt(path), "add `type:` with one of "+quoteList(KnownAlertTypes()), "%s has no type", what)
		case !ok:
			hint := "known types: " + quoteList(KnownAlertTypes())
			if s := suggest(a.Type, KnownAlertTypes()); s != "" {
				hint = "did you mean `" + s + "`? " + hint
			}
			v.errorf(v.d.at(path+".type"), hint, "%s has unknown type `%s`", what, a.Type)
		}
		if ok {
			accepted := append(append([]string{}, spec.required...), spec.optional...)
			takes := a.Type + " alerts take " + quoteList(accepted)
			if len(accepted) == 0 {
				takes = a.Type + " alerts take no other key"
			}
			av := reflect.ValueOf(a)
			for _, k := range spec.required {
				if av.FieldByIndex(fields[k].index).Len() > 0 || v.d.failed[path+"."+k] {
					continue
				}
				if _, written := v.d.key[path+"."+k]; written {
					// Usually a variable set to "" (`${SLACK_URL}`).
					v.errorf(v.d.at(path+"."+k), takes, "%s (type %s) has an empty `%s`", what, a.Type, k)
					continue
				}
				v.errorf(v.d.keyAt(path), takes, "%s (type %s) is missing required key `%s`", what, a.Type, k)
			}
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if _, written := v.d.key[path+"."+k]; written && k != "type" && !slices.Contains(accepted, k) {
					v.errorf(v.d.key[path+"."+k], takes, "key `%s` does not apply to %s of type %s", k, what, a.Type)
				}
			}
			v.alertValues(&a, path, what)
		}
		v.cfg.Alerts[name] = a
	}
}

func (v *validator) alertValues(a *Alert, path, what string) {
	switch a.Type {
	case "stdout":
		switch a.Format {
		case "":
			a.Format = DefaultStdoutFormat
		case "text", "json":
		default:
			v.errorf(v.d.at(path+".format"), "use `text` or `json`", "%s has unknown format `%s`", what, a.Format)
		}
	case "slack", "discord", "webhook":
		if a.URL != "" {
			v.httpURL(a.URL, path+".url", what)
		}
	case "ntfy":
		// An empty server stays empty: the sink applies https://ntfy.sh,
		// and tests point it elsewhere through its options.
		if a.Server != "" {
			v.httpURL(a.Server, path+".server", what)
		}
	case "email", "sendgrid":
		if a.From != "" {
			if _, err := mail.ParseAddress(a.From); err != nil {
				v.errorf(v.d.at(path+".from"), "write `name@example.com` or `Name <name@example.com>`", "%s has an invalid `from` address %q: %v", what, a.From, err)
			}
		}
		for i, to := range a.To {
			if _, err := mail.ParseAddress(to); err != nil {
				v.errorf(v.d.at(fmt.Sprintf("%s.to[%d]", path, i)), "write `name@example.com` or `Name <name@example.com>`", "%s has an invalid `to` address %q: %v", what, to, err)
			}
		}
		if a.SMTPServer != "" {
			if err := hostPort(a.SMTPServer, false); err != nil {
				v.errorf(v.d.at(path+".smtp_server"), "write `host:port`, e.g. `smtp.example.com:587`", "%s has an invalid smtp_server %q: %v", what, a.SMTPServer, err)
			}
		}
	}
}

// httpURL reports whether s is an absolute http(s) URL, reporting if not.
func (v *validator) httpURL(s, path, what string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(v.d.at(path), "write a full URL starting with http:// or https://", "%s has an invalid URL %q", what, s)
		return false
	}
	return true
}

// hostPort checks "host:port"; with listen the host may be empty (":5514").
func hostPort(s string, listen bool) error {
	if strings.Contains(s, "://") {
		return errors.New("a scheme is not allowed here")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if host == "" && !listen {
		return errors.New("missing host")
	}
	n, err := strconv.Atoi(port)
	low := 1
	if listen {
		low = 0 // port 0 asks the kernel for a free port
	}
	if err != nil || n < low || n > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

func (v *validator) inputs() {
	in := &v.cfg.Inputs
	for i, f := range in.Files {
		p := fmt.Sprintf("inputs.files[%d]", i)
		if strings.TrimSpace(f) == "" {
			v.errorf(v.d.at(p), "remove the entry or write a path", "inputs.files has an empty path")
			continue
		}
		if _, err := filepath.Match(f, ""); err != nil {
			v.errorf(v.d.at(p), "globs use * ? and [...]; check the brackets", "inputs.files entry %q is not a valid glob: %v", f, err)
			continue
		}
		if v.opt.Glob != nil {
			m, err := v.opt.Glob(f)
			if err == nil && len(m) == 0 {
				v.warnf(v.d.at(p), "inputs.files entry %q matches no file yet; it is watched until one appears", f)
			}
		}
	}
	for i, c := range in.Containers {
		if strings.TrimSpace(c) == "" {
			v.errorf(v.d.at(fmt.Sprintf("inputs.containers[%d]", i)), "remove the entry or write a container name or id", "inputs.containers has an empty name")
		}
	}
	first := map[string]int{}
	for i := range in.Streams {
		s := &in.Streams[i]
		path := fmt.Sprintf("inputs.streams[%d]", i)
		if v.d.failed[path] || v.d.failed[path+".type"] || v.d.failed[path+".url"] || v.d.failed[path+".name"] {
			continue
		}
		v.stream(s, path)
		if s.Name == "" {
			s.Name = s.Type + ":" + s.URL
		}
		if j, dup := first[s.Name]; dup {
			v.errorf(v.d.at(path+".name"), "give each stream a distinct `name:`; rules refer to streams by name",
				"duplicate stream name `%s`, first used at line %d", s.Name, v.d.at(fmt.Sprintf("inputs.streams[%d]", j)).Line)
			continue
		}
		first[s.Name] = i
		v.streamNames = append(v.streamNames, s.Name)
	}
}

func (v *validator) stream(s *Stream, path string) {
	what := fmt.Sprintf("stream %d", v.streamIndex(path)+1)
	if s.Name != "" {
		what = "stream `" + s.Name + "`"
	}
	has := func(k string) bool { _, ok := v.d.key[path+"."+k]; return ok }
	types := quoteList(StreamTypes())
	switch s.Type {
	case "websocket", "http", "tcp":
	case "":
		v.errorf(v.d.at(path), "add `type:` with one of "+types, "%s has no type", what)
		return
	default:
		hint := "stream types: " + types
		if sg := suggest(s.Type, StreamTypes()); sg != "" {
			hint = "did you mean `" + sg + "`? " + hint
		}
		v.errorf(v.d.at(path+".type"), hint, "%s has unknown type `%s`", what, s.Type)
		return
	}
	if s.URL == "" {
		v.errorf(v.d.at(path), "add `url:`", "%s has no url", what)
	} else {
		v.streamURL(s, path, what)
	}
	only := func(key, types string, ok bool) {
		if has(key) && !ok {
			v.errorf(v.d.key[path+"."+key], "", "key `%s` applies only to %s streams, not %s", key, types, s.Type)
		}
	}
	only("method", "http", s.Type == "http")
	only("body", "http", s.Type == "http")
	only("headers", "websocket and http", s.Type != "tcp")
	only("listen", "tcp", s.Type == "tcp")
	if has("protocol") && !s.Listen {
		v.errorf(v.d.key[path+".protocol"], "add `listen: true`, or remove `protocol`", "key `protocol` applies only to tcp streams with `listen: true`")
	}
	if s.Type == "http" {
		if s.Method == "" {
			s.Method = DefaultHTTPMethod
		} else if !validMethod(s.Method) {
			v.errorf(v.d.at(path+".method"), "write an upper-case HTTP method such as GET or POST", "%s has invalid method %q", what, s.Method)
		}
	}
	if s.Listen {
		switch s.Protocol {
		case "":
			s.Protocol = "tcp"
		case "tcp", "udp", "both":
		default:
			v.errorf(v.d.at(path+".protocol"), "use `tcp`, `udp` or `both`", "%s has unknown protocol `%s`", what, s.Protocol)
		}
	}
	for name := range s.Headers {
		if !validHeaderName(name) {
			v.errorf(v.d.keyAt(path+".headers."+name), "header names are letters, digits and !#$%&'*+-.^_`|~", "%s has invalid header name %q", what, name)
		}
	}
	if s.TLS != nil {
		t := s.TLS
		switch {
		case s.Type == "websocket" && strings.HasPrefix(s.URL, "ws://"):
			v.errorf(v.d.key[path+".tls"], "use a wss:// URL", "%s has `tls` but a ws:// URL", what)
		case s.Type == "http" && strings.HasPrefix(s.URL, "http://"):
			v.errorf(v.d.key[path+".tls"], "use an https:// URL", "%s has `tls` but an http:// URL", what)
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			v.errorf(v.d.at(path+".tls"), "give both `cert_file` and `key_file`, or neither", "%s has only one of tls.cert_file and tls.key_file", what)
		}
		if s.Listen && t.CertFile == "" {
			v.errorf(v.d.at(path+".tls"), "a TLS listener needs `cert_file` and `key_file`", "%s listens with tls but has no certificate", what)
		}
	}
	if s.ReconnectDelay < 0 {
		v.errorf(v.d.at(path+".reconnect_delay"), "use 0 or more seconds", "%s has a negative reconnect_delay", what)
	}
	s.ReconnectDelay = v.d.durationOr(path+".reconnect_delay", s.ReconnectDelay, DefaultReconnectDelay)
	if s.IdleTimeout < 0 {
		v.errorf(v.d.at(path+".idle_timeout"), "use 0 (off) or more seconds", "%s has a negative idle_timeout", what)
	}
	if s.Type != "tcp" {
		s.IdleTimeout = v.d.durationOr(path+".idle_timeout", s.IdleTimeout, DefaultStreamIdleTimeout)
	}
}

func (v *validator) streamIndex(path string) int {
	var i int
	fmt.Sscanf(path, "inputs.streams[%d]", &i)
	return i
}

func (v *validator) streamURL(s *Stream, path, what string) {
	p := v.d.at(path + ".url")
	switch s.Type {
	case "websocket", "http":
		schemes := []string{"ws", "wss"}
		if s.Type == "http" {
			schemes = []string{"http", "https"}
		}
		u, err := url.Parse(s.URL)
		if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
			v.errorf(p, fmt.Sprintf("%s streams need a URL starting with %s:// or %s://", s.Type, schemes[0], schemes[1]),
				"%s has invalid url %q", what, s.URL)
		}
	case "tcp":
		addr := s.URL
		if !s.Listen {
			// Dialling also takes tcp://host:port, and tls://host:port for
			// TLS without a tls: section.
			for _, scheme := range []string{"tcp://", "tls://"} {
				if rest, ok := strings.CutPrefix(addr, scheme); ok {
					addr = strings.TrimSuffix(rest, "/")
				}
			}
		}
		if err := hostPort(addr, s.Listen); err != nil {
			hint := "tcp streams take `host:port` (or `tls://host:port`), e.g. `syslog.example.com:514`"
			if s.Listen {
				hint = "a listening tcp stream takes a listen address such as `:5514` or `127.0.0.1:5514`"
			}
			v.errorf(p, hint, "%s has invalid address %q: %v", what, s.URL, err)
		}
	}
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return m != ""
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isNameChar(c) || strings.IndexByte("!#$%&'*+-.^`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func (v *validator) rules() {
	first := map[string]int{}
	for i := range v.cfg.Rules {
		r := &v.cfg.Rules[i]
		path := fmt.Sprintf("rules[%d]", i)
		what := fmt.Sprintf("rule %d", i+1)
		if v.d.failed[path] || v.d.failed[path+".pattern"] || v.d.failed[path+".text"] {
			continue
		}
		if r.Name == "" && !v.d.failed[path+".name"] {
			v.errorf(v.d.at(path), "add `name:`; names appear in alerts and must be unique", "rule %d has no name", i+1)
		} else {
			what = "rule `" + r.Name + "`"
			v.uniqueName(first, "rules", "rule", r.Name, i)
		}
		_, hasPattern := v.d.key[path+".pattern"]
		_, hasText := v.d.key[path+".text"]
		switch {
		case hasPattern && hasText:
			v.errorf(v.d.key[path+".text"], "keep `pattern:` for a regular expression or `text:` for a plain substring", "%s has both `pattern` and `text`", what)
		case !hasPattern && !hasText:
			v.errorf(v.d.at(path), "add `pattern:` (a regular expression) or `text:` (a plain substring)", "%s has neither `pattern` nor `text`", what)
		case hasPattern && r.Pattern == "":
			v.errorf(v.d.at(path+".pattern"), "an empty pattern matches every line; write `.` if that is meant", "%s has an empty pattern", what)
		case hasText && r.Text == "":
			v.errorf(v.d.at(path+".text"), "an empty text matches every line", "%s has an empty text", what)
		case hasPattern:
			flags := syntax.Perl
			if r.IgnoreCase {
				flags |= syntax.FoldCase
			}
			if _, err := syntax.Parse(r.Pattern, flags); err != nil {
				msg := err.Error()
				var se *syntax.Error
				if errors.As(err, &se) {
					msg = fmt.Sprintf("%s: `%s`", se.Code, se.Expr)
				}
				v.errorf(v.d.at(path+".pattern"), "patterns use RE2 syntax (no look-around or backreferences); use `text:` for a plain substring",
					"%s has an invalid pattern: %s", what, msg)
			}
		}
		v.refs(r.Alert, path+".alert", what)
		if r.Cooldown < 0 {
			v.errorf(v.d.at(path+".cooldown"), "use 0 (alert on every match) or more seconds", "%s has a negative cooldown %s", what, r.Cooldown)
		}
		r.Cooldown = v.d.durationOr(path+".cooldown", r.Cooldown, DefaultCooldown)
		if r.Sources != nil {
			v.sources(r, path+".sources", what)
		}
	}
}

func (v *validator) sources(r *Rule, path, what string) {
	s := r.Sources
	in := v.cfg.Inputs
	if len(s.Files)+len(s.Containers)+len(s.Streams) == 0 {
		v.warnf(v.d.at(path), "%s has `sources` listing no source, so it never matches", what)
	}
	for i, f := range s.Files {
		found := false
		for _, g := range in.Files {
			if m, _ := filepath.Match(g, f); g == f || m {
				found = true
				break
			}
		}
		if !found {
			v.warnf(v.d.at(fmt.Sprintf("%s.files[%d]", path, i)), "%s lists file %q, which no inputs.files entry provides", what, f)
		}
	}
	for i, c := range s.Containers {
		if !slices.Contains(in.Containers, c) {
			v.warnf(v.d.at(fmt.Sprintf("%s.containers[%d]", path, i)), "%s lists container %q, which is not in inputs.containers", what, c)
		}
	}
	for i, name := range s.Streams {
		if slices.Contains(v.streamNames, name) {
			continue
		}
		v.unknownRef(fmt.Sprintf("%s.streams[%d]", path, i), what, "stream", name, "configured streams", v.streamNames)
	}
}

func (v *validator) resources() {
	r := v.cfg.Resources
	if r == nil || v.d.failed["resources"] {
		return
	}
	if r.Interval < 0 || (v.d.set["resources.interval"] && r.Interval == 0) {
		v.errorf(v.d.at("resources.interval"), "use a positive number of seconds", "resources.interval must be positive")
	}
	r.Interval = v.d.durationOr("resources.interval", r.Interval, DefaultResourcesInterval)
	t := r.Thresholds
	anySet := false
	for _, p := range []struct {
		key string
		val float64
	}{{"cpu_percent", t.CPUPercent}, {"memory_percent", t.MemoryPercent}, {"disk_percent", t.DiskPercent}} {
		if p.val < 0 || p.val > 100 {
			v.errorf(v.d.at("resources.thresholds."+p.key), "use a percentage between 0 (unchecked) and 100", "resources.thresholds.%s is %g, outside 0..100", p.key, p.val)
		}
		anySet = anySet || p.val > 0
	}
	if anySet || len(t.Alert) > 0 {
		v.refs(t.Alert, "resources.thresholds.alert", "resources.thresholds")
	}
	if !anySet {
		v.warnf(v.d.at("resources"), "resources has no threshold set, so it never alerts")
	}
}

func (v *validator) systemChecks() {
	first := map[string]int{}
	for i := range v.cfg.SystemChecks {
		c := &v.cfg.SystemChecks[i]
		path := fmt.Sprintf("system_checks[%d]", i)
		what := fmt.Sprintf("system check %d", i+1)
		if v.d.failed[path] {
			continue
		}
		if c.Name == "" && !v.d.failed[path+".name"] {
			v.errorf(v.d.at(path), "add `name:`", "system check %d has no name", i+1)
		} else {
			what = "system check `" + c.Name + "`"
			v.uniqueName(first, "system_checks", "system check", c.Name, i)
		}
		// The original documents `http` as the only type; a missing type
		// therefore can only mean http.
		if c.Type == "" && !v.d.failed[path+".type"] {
			c.Type = "http"
		} else if c.Type != "http" {
			v.errorf(v.d.at(path+".type"), "the only system check type is `http`", "%s has unknown type `%s`", what, c.Type)
		}
		if c.URL == "" {
			if !v.d.failed[path+".url"] {
				v.errorf(v.d.at(path), "add `url:` with the address to probe", "%s has no url", what)
			}
		} else {
			v.httpURL(c.URL, path+".url", what)
		}
		for _, d := range []struct {
			key string
			val *Duration
			def time.Duration
		}{{"interval", &c.Interval, DefaultCheckInterval}, {"timeout", &c.Timeout, DefaultCheckTimeout}} {
			if *d.val < 0 || (v.d.set[path+"."+d.key] && *d.val == 0) {
				v.errorf(v.d.at(path+"."+d.key), "use a positive number of seconds", "%s has %s %s; it must be positive", what, d.key, *d.val)
			}
			*d.val = v.d.durationOr(path+"."+d.key, *d.val, d.def)
		}
		if c.Timeout > c.Interval {
			v.warnf(v.d.at(path+".timeout"), "%s has a timeout (%s) longer than its interval (%s); probes will overlap", what, c.Timeout, c.Interval)
		}
		if !v.d.set[path+".missed_threshold"] {
			c.MissedThreshold = DefaultMissedThreshold
		} else if c.MissedThreshold < 1 {
			v.errorf(v.d.at(path+".missed_threshold"), "use 1 to alert on the first failure", "%s has missed_threshold %d; it must be at least 1", what, c.MissedThreshold)
		}
		v.refs(c.Alert, path+".alert", what)
	}
}

func (v *validator) heartbeat() {
	h := v.cfg.Heartbeat
	if h == nil || v.d.failed["heartbeat"] {
		return
	}
	if h.URL == "" && !v.d.failed["heartbeat.url"] {
		v.errorf(v.d.at("heartbeat"), "add `url:` with the address to ping", "heartbeat has no url")
	} else if h.URL != "" {
		v.httpURL(h.URL, "heartbeat.url", "heartbeat")
	}
	if h.Interval < 0 || (v.d.set["heartbeat.interval"] && h.Interval == 0) {
		v.errorf(v.d.at("heartbeat.interval"), "use a positive number of seconds", "heartbeat.interval must be positive")
	}
	h.Interval = v.d.durationOr("heartbeat.interval", h.Interval, DefaultHeartbeatInterval)
}

func (v *validator) settings() {
	s := &v.cfg.Settings
	check := func(key string, val *int, lo, def int) {
		path := "settings." + key
		if !v.d.set[path] {
			*val = def
			return
		}
		if *val < lo || *val > maxBufBytes {
			v.errorf(v.d.at(path), fmt.Sprintf("use a size between %d and %d bytes (default %d)", lo, maxBufBytes, def), "%s is %d, out of range", path, *val)
		}
	}
	check("max_line_bytes", &s.MaxLineBytes, minLineBytes, DefaultMaxLineBytes)
	check("block_bytes", &s.BlockBytes, minBlockBytes, DefaultBlockBytes)
	if s.Workers < 0 {
		v.errorf(v.d.at("settings.workers"), "use 0 for one worker per CPU (GOMAXPROCS)", "settings.workers is %d; it must be 0 or more", s.Workers)
	}
}
