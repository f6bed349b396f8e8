package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks only that no input makes the loader panic or hang; the
// seeds are every fixture and example.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*.yml", "../examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("a: &a\n  <<: *a\n"))
	f.Add([]byte("rules: &r\n  - <<: *r\n"))
	f.Add([]byte("? [a]\n: b\n"))
	opt := testOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		c, err := ParseWith(data, "fuzz.yml", opt)
		if (c == nil) == (err == nil) {
			t.Fatalf("ParseWith returned config %v and error %v", c != nil, err)
		}
	})
}
