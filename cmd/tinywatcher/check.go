package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/engine"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
)

type checkFlags struct {
	config     string
	lines      int
	files      []string
	containers []string
	color      string
}

func newCheckCommand() *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check --config FILE [-n 100] [--file P]...",
		Short: "Show which rules match the last lines of each file, highlighted",
		Long: `Check reads the last N lines of each file input (or of the files given with
--file) and prints the lines that match, rule by rule, with the matching part
highlighted. Nothing is sent to any destination.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.OutOrStdout(), f)
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (required)")
	cmd.Flags().IntVarP(&f.lines, "lines", "n", 100, "how many lines to read from the end of each source")
	cmd.Flags().StringArrayVar(&f.files, "file", nil, "check this file instead of the configured inputs (repeatable)")
	cmd.Flags().StringArrayVar(&f.containers, "container", nil, "check this container (repeatable)")
	cmd.Flags().StringVar(&f.color, "color", "auto", "highlight matches: auto, always or never")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runCheck(w io.Writer, f *checkFlags) error {
	if len(f.containers) > 0 {
		return configError(fmt.Errorf("--container: the Docker source is not available in this build yet"))
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return configError(err)
	}
	prog, err := compileRules(cfg.Rules)
	if err != nil {
		return configError(err)
	}
	m, err := prog.NewMatcher()
	if err != nil {
		return runtimeError(err)
	}
	// The standard library finds the spans to highlight: the few lines
	// shown do not need the block matcher's speed.
	spans := make([]*regexp.Regexp, prog.NumRules())
	for i := range spans {
		expr, err := match.RuleExpr(prog.Rule(i))
		if err != nil {
			return configError(err)
		}
		spans[i] = regexp.MustCompile(expr)
	}
	color := f.color == "always" || (f.color == "auto" && isTerminal(w))
	paths := f.files
	if len(paths) == 0 {
		paths, _, err = ingest.ExpandGlobs(cfg.Inputs.Files)
		if err != nil {
			return configError(err)
		}
	}
	if len(paths) == 0 {
		return configError(fmt.Errorf("no files to check: the config has no file inputs that exist, and no --file was given"))
	}
	total := 0
	for _, path := range paths {
		data, err := tailLines(path, f.lines)
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", path, err)
			continue
		}
		mask := engine.SourceMask(cfg.Rules, ingest.KindFile, path)
		n := 0
		fmt.Fprintf(w, "== %s (last %d lines)\n", path, f.lines)
		_ = m.Scan(data, mask, func(line []byte, rules match.Bits) {
			n++
			rules.Each(func(i int) {
				fmt.Fprintf(w, "  [%s] %s\n", prog.Rule(i).Name, highlight(line, spans[i], color))
			})
		})
		if n == 0 {
			fmt.Fprintln(w, "  no rule matches")
		}
		total += n
	}
	fmt.Fprintf(w, "%d matching line(s)\n", total)
	return nil
}

func highlight(line []byte, re *regexp.Regexp, color bool) string {
	if !color {
		return string(line)
	}
	var b bytes.Buffer
	last := 0
	for _, loc := range re.FindAllIndex(line, -1) {
		b.Write(line[last:loc[0]])
		b.WriteString("\x1b[1;31m")
		b.Write(line[loc[0]:loc[1]])
		b.WriteString("\x1b[0m")
		last = loc[1]
	}
	b.Write(line[last:])
	return b.String()
}

// tailLines returns the last n lines of the file at path, reading it
// backwards in chunks so a huge log costs only what is shown.
func tailLines(path string, n int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	const chunk = 64 << 10
	end := st.Size()
	var buf []byte
	for pos := end; pos > 0 && bytes.Count(buf, []byte{'\n'}) <= n; {
		step := min(int64(chunk), pos)
		pos -= step
		part := make([]byte, step)
		if _, err := fh.ReadAt(part, pos); err != nil {
			return nil, err
		}
		buf = append(part, buf...)
	}
	buf = bytes.TrimSuffix(buf, []byte{'\n'})
	lines := bytes.Split(buf, []byte{'\n'})
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := bytes.Join(lines, []byte{'\n'})
	if len(out) > 0 {
		out = append(out, '\n')
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
