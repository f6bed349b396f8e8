package match

import (
	_ "embed"
	"encoding/binary"
	"math"
	"sync"
)

// ngrams.bin lists the 8,192 most frequent lower-cased 4-byte windows of
// the loghub corpus (16 systems, 4.5 MB of real logs) with their counts:
// a uint32 total byte count, then per window 4 bytes and a uint16 count.
// Regenerate with: TW_GEN_NGRAMS=1 go test -run TestGenerateNgrams ./match
//
//go:embed ngrams.bin
var ngramsBin []byte

var (
	ngramOnce  sync.Once
	ngramScore map[uint32]int // lower-cased window -> rarity score
	ngramFloor int            // score of a window not in the list
)

// rarityScale turns -log2(frequency) into integer score units.
const rarityScale = 16

func loadNgrams() {
	ngramScore = map[uint32]int{}
	if len(ngramsBin) < 4 {
		return
	}
	total := float64(binary.LittleEndian.Uint32(ngramsBin))
	minCount := math.MaxFloat64
	for b := ngramsBin[4:]; len(b) >= 6; b = b[6:] {
		c := float64(binary.LittleEndian.Uint16(b[4:]))
		minCount = min(minCount, c)
		ngramScore[binary.LittleEndian.Uint32(b)] = int(-math.Log2(c/total) * rarityScale)
	}
	// A window not listed is rarer than every listed one: assume half the
	// least frequent listed count.
	ngramFloor = int(-math.Log2(minCount/2/total) * rarityScale)
}

// windowRarity rates a 4-byte window of a literal: higher means rarer in
// log text, so fewer false probe hits. Byte rarities break ties.
func windowRarity(w []byte) int {
	ngramOnce.Do(loadNgrams)
	var k [4]byte
	bsum := 0
	for i, c := range w[:4] {
		k[i] = lowerTab[c]
		bsum += int(byteRarity[c])
	}
	sc, ok := ngramScore[binary.LittleEndian.Uint32(k[:])]
	if !ok {
		sc = ngramFloor
	}
	return sc*4 + bsum/4
}
