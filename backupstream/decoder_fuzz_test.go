package backupstream

import (
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

// FuzzPushDecoder writes any bytes to a Decoder in several chunkings
// (whole, byte by byte for small inputs, random sizes chosen from the
// input's hash, random sizes with payload delivered outside Write) and
// checks that it agrees with the pull Reader: the same headers, payload
// bytes and record ends, and an error of the same kind exactly when the
// Reader has one. The corpus is the Reader's fuzz corpus.
func FuzzPushDecoder(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pull, pullComplete, pullErr := pullParse(data)
		h := fnv.New64a()
		h.Write(data)
		seed := h.Sum64()
		type chunking struct {
			name    string
			next    chunker
			deliver *rand.Rand
		}
		cks := []chunking{
			{"whole", fixedChunks(len(data) + 1), nil},
			{"random", randomChunks(seed), nil},
			{"delivered", randomChunks(seed + 1), rand.New(rand.NewPCG(seed, 2))},
		}
		if len(data) <= 4096 {
			cks = append(cks, chunking{"bytes", fixedChunks(1), nil})
		}
		for _, ck := range cks {
			push, d, pushErr := pushParse(data, ck.next, ck.deliver)
			agree(t, ck.name, push, pushErr, pull, pullComplete, pullErr)
			if pushErr == nil && d.Offset() != int64(len(data)) {
				t.Fatalf("%s: Offset %d after a clean end, want %d", ck.name, d.Offset(), len(data))
			}
		}
	})
}
