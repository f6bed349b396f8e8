package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a byte count that parses and prints with unit suffixes. Binary
// suffixes (K, KiB, M, MiB, G, GiB) are powers of 1024; decimal ones (KB,
// MB, GB) are powers of 1000; a bare number is bytes. It implements
// pflag.Value.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// ParseSize parses "256MiB", "1.5GiB", "64k", "1000000" and similar.
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("cannot parse size %q: want a number with an optional unit such as 256MiB, 64KiB, 1GB", s)
	}
	return Size(f * float64(mult)), nil
}

// String prints the size with the largest binary unit that keeps it >= 1.
func (s Size) String() string {
	switch v := float64(s); {
	case s >= 1<<30:
		return strconv.FormatFloat(v/(1<<30), 'f', -1, 64) + "GiB"
	case s >= 1<<20:
		return strconv.FormatFloat(v/(1<<20), 'f', -1, 64) + "MiB"
	case s >= 1<<10:
		return strconv.FormatFloat(v/(1<<10), 'f', -1, 64) + "KiB"
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// Set implements pflag.Value.
func (s *Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = n
	return nil
}

// Type implements pflag.Value.
func (s *Size) Type() string { return "size" }
