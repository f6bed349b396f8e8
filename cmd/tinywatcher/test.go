package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/match"
)

func newTestCommand(g *globalFlags) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "test --config FILE",
		Short: "Validate a configuration, print a summary and run the rules' tests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTest(cmd.OutOrStdout(), path)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "configuration file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runTest(w io.Writer, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return configError(err)
	}
	prog, err := compileRules(cfg.Rules)
	if err != nil {
		return configError(err)
	}
	printSummary(w, cfg)
	failed, ran, err := runRuleTests(w, cfg, prog)
	if err != nil {
		return runtimeError(err)
	}
	if ran > 0 {
		fmt.Fprintf(w, "\nrule tests: %d passed, %d failed\n", ran-failed, failed)
	}
	if failed > 0 {
		return runtimeError(fmt.Errorf("%d rule test(s) failed", failed))
	}
	fmt.Fprintln(w, "\nconfiguration OK")
	return nil
}

func compileRules(rules []config.Rule) (*match.Program, error) {
	mr := make([]match.Rule, len(rules))
	for i, r := range rules {
		mr[i] = match.Rule{Name: r.Name, Pattern: r.Pattern, Text: r.Text, IgnoreCase: r.IgnoreCase}
	}
	return match.Compile(mr)
}

func printSummary(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "configuration %s\nidentity: %s\n", cfg.Path, cfg.Identity.Name)
	fmt.Fprintln(w, "\ninputs:")
	for _, f := range cfg.Inputs.Files {
		fmt.Fprintf(w, "  file       %s\n", f)
	}
	for _, c := range cfg.Inputs.Containers {
		fmt.Fprintf(w, "  container  %s\n", c)
	}
	for _, s := range cfg.Inputs.Streams {
		fmt.Fprintf(w, "  stream     %s (%s %s, reconnect after %s)\n", s.Name, s.Type, s.URL, time.Duration(s.ReconnectDelay))
	}
	if len(cfg.Inputs.Files)+len(cfg.Inputs.Containers)+len(cfg.Inputs.Streams) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	fmt.Fprintf(w, "\nrules (%d):\n", len(cfg.Rules))
	for _, r := range cfg.Rules {
		what := "pattern " + quote(r.Pattern)
		if r.Text != "" {
			what = "text " + quote(r.Text)
		}
		if r.IgnoreCase {
			what += " (ignore case)"
		}
		fmt.Fprintf(w, "  %s: %s\n", r.Name, what)
		fmt.Fprintf(w, "    alerts: %s; cooldown: %s", strings.Join(r.Alert, ", "), cooldownText(time.Duration(r.Cooldown)))
		if r.Threshold != nil {
			fmt.Fprintf(w, "; threshold: %d in %s", r.Threshold.Count, r.Threshold.Window)
		}
		fmt.Fprintf(w, "; sources: %s\n", sourcesText(r.Sources))
	}
	fmt.Fprintf(w, "\nalerts (%d):\n", len(cfg.Alerts))
	names := make([]string, 0, len(cfg.Alerts))
	for n := range cfg.Alerts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := cfg.Alerts[n]
		fmt.Fprintf(w, "  %s: %s%s\n", n, a.Type, alertTarget(a))
	}
}

func cooldownText(d time.Duration) string {
	if d == 0 {
		return "none (every match alerts)"
	}
	return d.String()
}

func sourcesText(s *config.Sources) string {
	if s == nil {
		return "all"
	}
	var parts []string
	if len(s.Files) > 0 {
		parts = append(parts, "files "+strings.Join(s.Files, ", "))
	}
	if len(s.Containers) > 0 {
		parts = append(parts, "containers "+strings.Join(s.Containers, ", "))
	}
	if len(s.Streams) > 0 {
		parts = append(parts, "streams "+strings.Join(s.Streams, ", "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// alertTarget says where an alert goes without printing its secret.
func alertTarget(a config.Alert) string {
	switch a.Type {
	case "email", "sendgrid":
		return " to " + strings.Join(a.To, ", ")
	case "ntfy":
		return " topic " + a.Topic
	case "telegram":
		return " chat " + a.ChatID
	case "stdout":
		if a.Format == "json" {
			return " (json)"
		}
	}
	return ""
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// runRuleTests checks each rule's tests.match lines match it and its
// tests.no_match lines do not, with the same matcher `watch` uses.
func runRuleTests(w io.Writer, cfg *config.Config, prog *match.Program) (failed, ran int, err error) {
	m, err := prog.NewMatcher()
	if err != nil {
		return 0, 0, err
	}
	matched := func(rule int, line string) bool {
		hit := false
		mask := match.NewBits(prog.NumRules())
		mask.Set(rule)
		_ = m.Scan([]byte(line+"\n"), mask, func(_ []byte, rules match.Bits) { hit = rules.Has(rule) })
		return hit
	}
	header := false
	for i, r := range cfg.Rules {
		if r.Tests == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nrule tests:")
			header = true
		}
		for _, line := range r.Tests.Match {
			ran++
			if !matched(i, line) {
				failed++
				fmt.Fprintf(w, "  FAIL %s: should match %q\n", r.Name, line)
			}
		}
		for _, line := range r.Tests.NoMatch {
			ran++
			if matched(i, line) {
				failed++
				fmt.Fprintf(w, "  FAIL %s: should not match %q\n", r.Name, line)
			}
		}
	}
	return failed, ran, nil
}
