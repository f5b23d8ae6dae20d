package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// textChunk is how much content a textFiller makes at a time.
const textChunk = 64 << 10

// textFiller makes compressible file content as Windows files have it:
// mostly words from a vocabulary of 256 (strings, resources, XML), runs
// of zero bytes (section padding) and short stretches of noise (code,
// compressed resources). Every byte is drawn fresh, so that content never
// repeats beyond what the words do. gzip compresses it about 3×, zstd
// a little better.
type textFiller struct {
	rng   *rand.Rand
	words [256][]byte
	buf   []byte
}

func newTextFiller(seed uint64) *textFiller {
	f := &textFiller{rng: rand.New(rand.NewPCG(seed, 0x74657874)), buf: make([]byte, textChunk+64)} // "text"
	stems := append(append([]string{}, fileStems...), dirWords...)
	for i := range f.words {
		f.words[i] = fmt.Appendf(nil, "%s%d ", stems[i%len(stems)], i/len(stems)*7)
	}
	return f
}

// next returns the next n (at most textChunk) bytes of content, valid
// until the next call.
func (f *textFiller) next(n int) []byte {
	b := f.buf[:0]
	for len(b) < n {
		v := f.rng.Uint64()
		switch v & 15 {
		case 0: // padding
			b = append(b, make([]byte, 8+v>>8&127)...)
		case 1, 2, 3, 4: // noise
			for k := uint64(0); k < 2+v>>8&7; k++ {
				b = binary.LittleEndian.AppendUint64(b, f.rng.Uint64())
			}
		default: // seven words
			for k := range 7 {
				b = append(b, f.words[byte(v>>(8+8*k))]...)
			}
		}
	}
	return b[:n]
}
