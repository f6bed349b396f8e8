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

// String prints the size with the largest binary unit that keeps it >= 1,
// exactly when that takes at most two decimals, else rounded to one.
func (s Size) String() string {
	unit, div := "B", 1.0
	switch {
	case s >= 1<<30:
		unit, div = "GiB", 1<<30
	case s >= 1<<20:
		unit, div = "MiB", 1<<20
	case s >= 1<<10:
		unit, div = "KiB", 1<<10
	}
	v := float64(s) / div
	if v*100 == float64(int64(v*100)) {
		return strconv.FormatFloat(v, 'f', -1, 64) + unit
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + unit
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
