//go:build race

package match

// Under -race go-re2 is about 200x slower: heavy tests shrink their input.
const raceEnabled = true
