package engine

import (
	"path/filepath"
	"slices"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
)

// SourceMask is the set of rules that apply to the source of the given kind
// and name: every rule without `sources:`, and those listing it. A file is
// listed by its path or by a glob matching its path.
func SourceMask(rules []config.Rule, kind ingest.Kind, name string) match.Bits {
	m := match.NewBits(len(rules))
	for i, r := range rules {
		if r.Sources == nil || listed(r.Sources, kind, name) {
			m.Set(i)
		}
	}
	return m
}

func listed(s *config.Sources, kind ingest.Kind, name string) bool {
	switch kind {
	case ingest.KindFile:
		for _, f := range s.Files {
			if f == name || filepath.Clean(f) == filepath.Clean(name) {
				return true
			}
			if ok, _ := filepath.Match(f, name); ok {
				return true
			}
		}
		return false
	case ingest.KindContainer:
		return slices.Contains(s.Containers, name)
	default:
		return slices.Contains(s.Streams, name)
	}
}
