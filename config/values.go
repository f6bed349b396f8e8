package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ThresholdForm is the accepted threshold syntax, quoted in error hints.
const ThresholdForm = "\"<count> in <n><unit>\" with unit ms, s, m or h, e.g. \"5 in 2s\""

// ParseThreshold parses "N in T": a count N >= 1 and a window T > 0 written
// as an integer and a unit (ms, s, m, h), e.g. "5 in 2s" or "3 in 1m".
// Spaces around the parts are tolerated ("5  in 2 s").
func ParseThreshold(s string) (Threshold, error) {
	f := strings.Fields(s)
	// "5 in 2 s" splits the window in two; join it back.
	if len(f) == 4 {
		f = []string{f[0], f[1], f[2] + f[3]}
	}
	if len(f) != 3 || !strings.EqualFold(f[1], "in") {
		return Threshold{}, fmt.Errorf("invalid threshold %q: want %s", s, ThresholdForm)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return Threshold{}, fmt.Errorf("invalid threshold %q: count %q must be a whole number >= 1", s, f[0])
	}
	w := f[2]
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	if i == 0 {
		return Threshold{}, fmt.Errorf("invalid threshold %q: window %q must start with a whole number", s, w)
	}
	num, err := strconv.ParseInt(w[:i], 10, 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("invalid threshold %q: window %q is out of range", s, w)
	}
	var unit time.Duration
	switch w[i:] {
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "":
		return Threshold{}, fmt.Errorf("invalid threshold %q: window %q has no unit (ms, s, m or h)", s, w)
	default:
		return Threshold{}, fmt.Errorf("invalid threshold %q: unknown unit %q in window (use ms, s, m or h)", s, w[i:])
	}
	if num <= 0 {
		return Threshold{}, fmt.Errorf("invalid threshold %q: window must be longer than 0", s)
	}
	if num > int64(math.MaxInt64/unit) {
		return Threshold{}, fmt.Errorf("invalid threshold %q: window %q is out of range", s, w)
	}
	return Threshold{Count: n, Window: time.Duration(num) * unit}, nil
}

// String returns the threshold in the form ParseThreshold reads, using the
// largest unit that divides the window exactly ("5 in 2s", "3 in 90s").
func (t Threshold) String() string {
	w := t.Window
	switch {
	case w%time.Hour == 0:
		return fmt.Sprintf("%d in %dh", t.Count, w/time.Hour)
	case w%time.Minute == 0:
		return fmt.Sprintf("%d in %dm", t.Count, w/time.Minute)
	case w%time.Second == 0:
		return fmt.Sprintf("%d in %ds", t.Count, w/time.Second)
	default:
		// Sub-millisecond windows cannot be written; they only arise from
		// code building a Threshold by hand, so round rather than fail.
		return fmt.Sprintf("%d in %dms", t.Count, w/time.Millisecond)
	}
}

// UnmarshalYAML lets goccy/go-yaml decode a Threshold directly (Load does
// not need it: it walks the AST itself).
func (t *Threshold) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseThreshold(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalYAML writes the threshold as its string form.
func (t Threshold) MarshalYAML() (any, error) { return t.String(), nil }

// ParseDuration reads a number of seconds ("30", "0.5", as the original
// TinyWatcher does) or a Go duration string ("1m30s", "500ms").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		return Duration(time.Duration(f * float64(time.Second))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want seconds (30, 0.5) or a Go duration (1m30s, 500ms)", s)
	}
	return Duration(d), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String returns d in Go's duration syntax ("1m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML accepts a number of seconds or a Go duration string.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var raw any
	if err := unmarshal(&raw); err != nil {
		return err
	}
	var s string
	switch v := raw.(type) {
	case string:
		s = v
	case nil:
		return nil
	default:
		s = fmt.Sprint(v)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration in Go's syntax, which ParseDuration reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML accepts one string or a list of strings.
func (l *StringList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return errors.New("want a name or a list of names")
	}
	*l = many
	return nil
}
