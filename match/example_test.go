package match_test

import (
	"fmt"

	"github.com/tinywatcher/tinywatcher/match"
)

func Example() {
	p, err := match.Compile([]match.Rule{
		{Name: "oom", Text: "Out of memory"},
		{Name: "5xx", Pattern: `" 5\d\d `},
		{Name: "panic", Pattern: `^panic: `, IgnoreCase: true},
	})
	if err != nil {
		panic(err)
	}
	m, err := p.NewMatcher() // one per worker goroutine
	if err != nil {
		panic(err)
	}
	block := []byte("GET / 200\n\"GET /api\" 502 12\nkernel: Out of memory: Killed process 7\nPANIC: boom\n")
	m.Scan(block, nil, func(line []byte, rules match.Bits) {
		rules.Each(func(i int) { fmt.Printf("%s: %s\n", p.Rule(i).Name, line) })
	})
	// Output:
	// 5xx: "GET /api" 502 12
	// oom: kernel: Out of memory: Killed process 7
	// panic: PANIC: boom
}
