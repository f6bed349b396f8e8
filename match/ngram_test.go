package match

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGenerateNgrams regenerates ngrams.bin from the loghub corpus when
// TW_GEN_NGRAMS is set.
func TestGenerateNgrams(t *testing.T) {
	if os.Getenv("TW_GEN_NGRAMS") == "" {
		t.Skip("set TW_GEN_NGRAMS=1 to regenerate ngrams.bin")
	}
	cnt := map[uint32]int{}
	total := 0
	for _, sys := range loghubSystems {
		b := bytes.ToLower(readLoghub(t, sys))
		for i := 0; i+4 <= len(b); i++ {
			cnt[binary.LittleEndian.Uint32(b[i:])]++
		}
		total += len(b)
	}
	keys := make([]uint32, 0, len(cnt))
	for k := range cnt {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b uint32) int {
		if cnt[a] != cnt[b] {
			return cnt[b] - cnt[a]
		}
		return int(a>>1) - int(b>>1)
	})
	out := binary.LittleEndian.AppendUint32(nil, uint32(total))
	for _, k := range keys[:min(8192, len(keys))] {
		out = binary.LittleEndian.AppendUint32(out, k)
		out = binary.LittleEndian.AppendUint16(out, uint16(min(cnt[k], 65535)))
	}
	if err := os.WriteFile(filepath.Join(".", "ngrams.bin"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWindowRarity(t *testing.T) {
	f := func(common, rare string) {
		t.Helper()
		if a, b := windowRarity([]byte(common)), windowRarity([]byte(rare)); a >= b {
			t.Fatalf("windowRarity(%q) = %d >= windowRarity(%q) = %d", common, a, rare, b)
		}
	}
	f("info", "oomk")
	f("INFO", "xq#z")
	f("tion", "ebac")
	f("    ", "Kern")
}
