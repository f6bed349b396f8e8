// Package engine wires sources to sinks: each source writes blocks into its
// own bounded ring, a fixed pool of workers drains the rings fairly and runs
// its own matcher over each block, and every match passes through its
// rule's state (threshold window, cooldown clock, suppressed counter) before
// an alert is handed to the dispatcher.
//
//	p, err := engine.New(cfg, engine.Options{...})
//	err = p.Run(ctx) // returns when ctx ends, or when replay sources are done
//
// Rule state is exact under any interleaving of workers; time comes from an
// injectable Clock so tests are deterministic.
package engine
