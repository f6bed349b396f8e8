// Package bench is TinyWatcher's throughput harness: a deterministic corpus
// generator (loghub samples mixed with synthetic nginx, logfmt, JSON, syslog
// and stack-trace lines, about 1% of them incidents), runners for the block
// matcher at 1 and N workers, the naive baseline and external tools (grep,
// ripgrep), and the `tinywatcher bench` command that prints their figures.
//
// Shortest use:
//
//	cmd := bench.NewCommand() // wire into the CLI, then: tinywatcher bench --size 64MiB
//
// Modes (--mode) live in a small registry (RegisterMode) so that end-to-end
// and latency measurements can be added beside the matcher mode. Nothing in
// this package is on a hot path of the watcher itself.
package bench
