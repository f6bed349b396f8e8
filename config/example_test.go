package config_test

import (
	"errors"
	"fmt"

	"github.com/tinywatcher/tinywatcher/config"
)

func ExampleParse() {
	src := []byte(`
inputs:
  files: [/var/log/app.log]
alerts:
  console:
    type: stdout
rules:
  - name: db_down
    pattern: "OperationalError"
    alert: console
    cooldwn: 30
  - name: slow
    text: "took too long"
    alert: consol
    threshold: "5 per minute"
`)
	_, err := config.Parse(src, "config.yaml")
	fmt.Println(err)

	// The CLI can reach each problem and its position.
	var list config.ErrorList
	if errors.As(err, &list) {
		fmt.Println(len(list), "problems; first at line", list[0].Line)
	}
	// Output:
	// config.yaml:11:5: unknown key `cooldwn` — did you mean `cooldown`?
	// config.yaml:14:12: rule `slow` refers to unknown alert `consol` — did you mean `console`? defined alerts: `console`
	// config.yaml:15:16: `rules[1].threshold`: invalid threshold "5 per minute": want "<count> in <n><unit>" with unit ms, s, m or h, e.g. "5 in 2s"
	// 3 problems; first at line 11
}

func ExampleParseThreshold() {
	t, err := config.ParseThreshold("5 in 2s")
	fmt.Println(t.Count, t.Window, t, err)
	// Output: 5 2s 5 in 2s <nil>
}
