// Package match compiles every rule into one program and scans blocks of
// whole lines against all of them in one pass.
//
// Compile validates and compiles the rules once; each worker then calls
// Program.NewMatcher to get its own Matcher, because go-re2's default
// backend does not scale when one compiled program is shared. A Matcher is
// not safe for concurrent use. Scan reports each matching line as a
// sub-slice of the block (no copy) with the exact set of rules it matched;
// both are valid only until the callback returns.
package match
