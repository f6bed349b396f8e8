package match

import "testing"

func TestRuleSetsCompile(t *testing.T) {
	f := func(name string, rules []Rule, n int) {
		t.Helper()
		if len(rules) != n {
			t.Fatalf("%s: got %d rules, want %d", name, len(rules), n)
		}
		seen := map[string]bool{}
		for _, r := range rules {
			e, err := RuleExpr(r)
			if err != nil {
				t.Fatalf("%s: rule %q: %v", name, r.Name, err)
			}
			key := e
			if seen[key] || seen["name:"+r.Name] {
				t.Fatalf("%s: duplicate rule %q (%s)", name, r.Name, e)
			}
			seen[key], seen["name:"+r.Name] = true, true
		}
		if len(rules) > 2000 {
			return
		}
		if _, err := Compile(rules); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	f("default", DefaultRules(), len(DefaultRules()))
	f("many-1000", ManyRules(1000), 1000)
	f("many-14000", ManyRules(14000), 14000)
}
