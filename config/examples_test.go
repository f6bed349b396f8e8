package config

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// ruleMatches is the meaning of a rule as the reference gives it, written
// with the standard library so example tests do not depend on match/.
func ruleMatches(t *testing.T, r Rule, line string) bool {
	t.Helper()
	if r.Text != "" {
		if r.IgnoreCase {
			return strings.Contains(strings.ToLower(line), strings.ToLower(r.Text))
		}
		return strings.Contains(line, r.Text)
	}
	p := r.Pattern
	if r.IgnoreCase {
		p = "(?i)" + p
	}
	return regexp.MustCompile(p).MatchString(line)
}

// checkRuleTests runs each rule's `tests:` block.
func checkRuleTests(t *testing.T, c *Config) {
	t.Helper()
	for _, r := range c.Rules {
		if r.Tests == nil {
			continue
		}
		for _, s := range r.Tests.Match {
			if !ruleMatches(t, r, s) {
				t.Errorf("rule %s: tests.match %q does not match", r.Name, s)
			}
		}
		for _, s := range r.Tests.NoMatch {
			if ruleMatches(t, r, s) {
				t.Errorf("rule %s: tests.no_match %q matches", r.Name, s)
			}
		}
	}
}

// TestExamples loads every examples/*.yaml from the repository root, as
// `make run` does, with the real environment lookup.
func TestExamples(t *testing.T) {
	t.Chdir("..")
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"basic.yaml", "complete.yaml", "stream-config.yaml", "reference.yaml"} {
		if !slices.Contains(files, filepath.Join("examples", want)) {
			t.Errorf("examples/%s is missing", want)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("%v", err)
			}
			for _, w := range c.Warnings {
				t.Logf("warning: %s", w)
			}
			checkRuleTests(t, c)
		})
	}
}

// TestBasicExampleMatchesSampleLog: the basic example's rules each find
// something in the bundled sample log, and it loads without warnings.
func TestBasicExampleMatchesSampleLog(t *testing.T) {
	t.Chdir("..")
	c, err := Load("examples/basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) > 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	data, err := os.ReadFile("examples/sample.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	hits := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines++
		for _, r := range c.Rules {
			if ruleMatches(t, r, sc.Text()) {
				hits[r.Name]++
			}
		}
	}
	if lines < 250 {
		t.Errorf("sample.log has %d lines, want about 300", lines)
	}
	for _, r := range c.Rules {
		if hits[r.Name] == 0 {
			t.Errorf("rule %s matches nothing in sample.log", r.Name)
		}
		// A rule matching most lines would make the demo useless.
		if hits[r.Name] > lines/5 {
			t.Errorf("rule %s matches %d of %d lines", r.Name, hits[r.Name], lines)
		}
	}
	t.Logf("matches per rule: %v", hits)
}

// TestReferenceExampleMeaning checks that the reference's examples mean
// what the reference says, not just that they load.
func TestReferenceExampleMeaning(t *testing.T) {
	t.Chdir("..")
	c, err := LoadWith("examples/reference.yaml", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules[0]
	if r.Name != "db_down" || r.Pattern != "OperationalError" || !slices.Equal(r.Alert, StringList{"oncall_slack", "webhook"}) ||
		r.Cooldown != Duration(30*time.Second) || *r.Threshold != (Threshold{5, 2 * time.Second}) ||
		!slices.Equal(r.Sources.Files, []string{"/var/log/nginx/error.log"}) || !slices.Equal(r.Sources.Containers, []string{"api"}) ||
		!slices.Equal(r.Sources.Streams, []string{"azure_app_service"}) || len(r.Tests.Match) != 1 || len(r.Tests.NoMatch) != 1 {
		t.Errorf("rule db_down = %+v", r)
	}
	if s := c.Inputs.Streams[0]; s.Name != "azure_webapp" || s.Type != "websocket" || s.URL != "wss://host/path" ||
		s.Headers["Authorization"] != "Bearer replace-me" || s.ReconnectDelay != Duration(5*time.Second) {
		t.Errorf("stream = %+v", s)
	}
	if res := c.Resources; res.Interval != Duration(10*time.Second) || res.Thresholds.CPUPercent != 85 ||
		res.Thresholds.MemoryPercent != 80 || res.Thresholds.DiskPercent != 90 || !slices.Equal(res.Thresholds.Alert, StringList{"team_slack"}) {
		t.Errorf("resources = %+v", res)
	}
	if sc := c.SystemChecks[0]; sc.Interval != Duration(30*time.Second) || sc.Timeout != Duration(5*time.Second) ||
		sc.MissedThreshold != 2 || *sc.Threshold != (Threshold{3, time.Minute}) {
		t.Errorf("system check = %+v", sc)
	}
	if h := c.Heartbeat; h.URL != "https://example.com/ping/abc" || h.Interval != Duration(time.Minute) {
		t.Errorf("heartbeat = %+v", h)
	}
	if c.Identity.Name != "my-api-server-1" || !c.Rules[1].IgnoreCase {
		t.Errorf("identity %q, rule 2 %+v", c.Identity.Name, c.Rules[1])
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestReferenceSnippets decodes every ```yaml block of the specs and of
// docs/configuration.md under the strict schema. Blocks are fragments, so each is put in its place in a
// whole document (streams under inputs, rule keys into a rule) and the
// alerts and streams it names get stub definitions.
func TestReferenceSnippets(t *testing.T) {
	specs := []string{"../../shared/spec/config-reference.md", "../../shared/spec/streaming-feature.md", "../docs/configuration.md"}
	for _, spec := range specs {
		md, err := os.ReadFile(spec)
		if os.IsNotExist(err) && strings.Contains(spec, "shared/spec") {
			// The specs live beside the repository, not in it.
			t.Run(filepath.Base(spec), func(t *testing.T) {
				t.Skipf("%s is absent (the spec lives outside the module, in /work/shared/spec); nothing to check", spec)
			})
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatch(md, -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no ```yaml block", spec)
		}
		for i, b := range blocks {
			t.Run(filepath.Base(spec)+"#"+strconv.Itoa(i), func(t *testing.T) {
				doc := wrapSnippet(t, dedent(string(b[1])))
				opt := testOptions()
				// Every variable is set; those named *URL hold a URL, as
				// validation checks URLs after expansion.
				opt.Getenv = func(name string) (string, bool) {
					if strings.HasSuffix(name, "URL") {
						return "https://env.example.com/" + name, true
					}
					return "value-from-env", true
				}
				if _, err := ParseWith(doc, "snippet.yaml", opt); err != nil {
					t.Fatalf("snippet:\n%s\nas document:\n%s\nerror: %v", b[1], doc, err)
				}
			})
		}
	}
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

func wrapSnippet(t *testing.T, snippet string) []byte {
	t.Helper()
	var frag map[string]any
	if err := yaml.Unmarshal([]byte(snippet), &frag); err != nil {
		t.Fatalf("snippet is not YAML: %v\n%s", err, snippet)
	}
	if len(frag) == 0 {
		t.Fatalf("snippet decodes to nothing:\n%s", snippet)
	}
	top := fieldsOf(reflectTypeOf[Config]())
	inputs := fieldsOf(reflectTypeOf[Inputs]())
	ruleKeys := fieldsOf(reflectTypeOf[Rule]())
	doc := map[string]any{}
	in := map[string]any{}
	var rule map[string]any
	for k, v := range frag {
		switch {
		case has(top, k) || strings.HasPrefix(k, "x-"):
			doc[k] = v
		case has(inputs, k):
			in[k] = v
		case has(ruleKeys, k):
			if rule == nil {
				rule = map[string]any{"name": "snippet_rule", "text": "x", "alert": "stub"}
			}
			rule[k] = v
		default:
			t.Fatalf("snippet key %q has no place in a config", k)
		}
	}
	if len(in) > 0 {
		doc["inputs"] = in
	}
	if rule != nil {
		doc["rules"] = []any{rule}
	}
	// Stubs for every alert and stream the fragment names but does not define.
	alerts, _ := doc["alerts"].(map[string]any)
	if alerts == nil {
		alerts = map[string]any{}
	}
	addAlert := func(v any) {
		names := []any{v}
		if l, ok := v.([]any); ok {
			names = l
		}
		for _, n := range names {
			if s, ok := n.(string); ok {
				if _, defined := alerts[s]; !defined {
					alerts[s] = map[string]any{"type": "stdout"}
				}
			}
		}
	}
	streamNames := map[string]bool{}
	if in, ok := doc["inputs"].(map[string]any); ok {
		if ss, ok := in["streams"].([]any); ok {
			for _, s := range ss {
				if m, ok := s.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						streamNames[n] = true
					}
				}
			}
		}
	}
	var stubStreams []any
	rules, _ := doc["rules"].([]any)
	for _, r := range rules {
		m, _ := r.(map[string]any)
		addAlert(m["alert"])
		if src, ok := m["sources"].(map[string]any); ok {
			ss, _ := src["streams"].([]any)
			for _, s := range ss {
				if n, ok := s.(string); ok && !streamNames[n] {
					streamNames[n] = true
					stubStreams = append(stubStreams, map[string]any{"name": n, "type": "tcp", "url": "localhost:514"})
				}
			}
		}
	}
	if res, ok := doc["resources"].(map[string]any); ok {
		if th, ok := res["thresholds"].(map[string]any); ok {
			addAlert(th["alert"])
		}
	}
	if checks, ok := doc["system_checks"].([]any); ok {
		for _, c := range checks {
			m, _ := c.(map[string]any)
			addAlert(m["alert"])
		}
	}
	if len(stubStreams) > 0 {
		in, _ := doc["inputs"].(map[string]any)
		if in == nil {
			in = map[string]any{}
			doc["inputs"] = in
		}
		existing, _ := in["streams"].([]any)
		in["streams"] = append(existing, stubStreams...)
	}
	if len(alerts) > 0 {
		doc["alerts"] = alerts
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func has(m map[string]fieldInfo, k string) bool { _, ok := m[k]; return ok }

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
