// Package match compiles every rule into one program and scans blocks of
// whole lines against all of them in one pass.
//
// Compile validates and compiles the rules once; each worker then calls
// Program.NewMatcher to get its own Matcher, because go-re2's default
// backend does not scale when one compiled program is shared. A Matcher is
// not safe for concurrent use. Scan reports each matching line as a
// sub-slice of the block (no copy) with the exact set of rules it matched;
// both are valid only until the callback returns.
//
// Shortest use:
//
//	p, err := match.Compile(rules)   // once; errors name the rule
//	m, err := p.NewMatcher()         // once per worker
//	err = m.Scan(block, mask, func(line []byte, rules match.Bits) {
//		rules.Each(func(i int) { alert(p.Rule(i), line) }) // copy line to keep it
//	})
//
// How a block is scanned (see README.md for the design and measurements):
//
//  1. A literal prefilter finds, in one pass over the block, the lines
//     holding a literal that some rule requires (required-literal analysis
//     of each rule's syntax tree; a hashed 4-byte-window probe at every
//     1st to 4th position).
//  2. Rules with no usable literal ("residual" rules) run as one line-local
//     RE2 program over the whole block or, when anchored at the line start
//     (^\d+$), with Go's regexp on each line.
//  3. Each candidate line is checked for the rules' further required
//     literals, then verified with RE2: when few rules remain, rule by rule
//     with one line-local search per rule over all such lines of the block
//     joined together, else with go-re2 sets per line. Rules that are a
//     plain literal need no RE2.
//
// Matching semantics are exactly those of Go's regexp applied to each line
// (Naive is that reference), including invalid UTF-8, which RE2 would
// treat differently: such lines are matched on a copy with each invalid
// byte replaced by U+FFFD, as Go's regexp sees them.
package match
