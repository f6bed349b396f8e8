//go:build race

package engine

// raceEnabled scales heavy tests down: go-re2 is ~200x slower under -race.
const raceEnabled = true
