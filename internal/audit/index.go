package audit

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// index holds one bit per byte of the line being parsed, set where the
// byte is a quote or a backslash: bit j of m[k] for byte 8k+j. With it the
// parser finds a string's end with one load, a shift and a count of
// trailing zeros, inline, where it made a call into the scanner per string
// (about fifty strings an event). It is built once per line, 32 bytes a
// step. The zero index has no bits, and every look-up falls back to the
// scanner.
type index struct {
	m []byte
	n int // the bytes indexed: past them the bits say nothing
}

// noIndex is for values parsed outside a line the parser indexed.
var noIndex = &index{}

// build indexes b, a line. A line holds no newline; if b does, the index
// stops at it, and the strings after it are found by the scanner.
func (x *index) build(b []byte) { x.cut(b) }

// cut indexes the line data starts with, up to its first newline, and
// returns that newline's offset (len(data) when there is none): the
// worker's search for the line's end and the index in one pass over its
// bytes. The line, data[:cut], is then parsed with parseCut. The bits past
// the line are zero, and there are eight bytes more than the line needs:
// a 64-bit window read from any offset up to its end stays inside the
// index.
func (x *index) cut(data []byte) int {
	x.grow((len(data)+31)/32*4 + 8)
	m := x.m[:cap(x.m)]
	n := indexNewline(data, m)
	// The newline's block may have set bits past it; those and the
	// bytes a window from the line's end reads are cleared.
	if r := n % 8; r != 0 {
		m[n/8] &= 1<<r - 1
	}
	clear(m[(n+7)/8 : n/8+8])
	x.m, x.n = m[:n/8+8], n
	return n
}

// grow makes room for n bytes of index, and lets go of an index grown
// for a huge line.
func (x *index) grow(n int) {
	if cap(x.m) > maxKeptIndex && n <= maxKeptIndex/16 {
		x.m = nil
	}
	if cap(x.m) < n {
		x.m = make([]byte, n, n+n/4)
	}
}

// indexNewlineGo is indexNewline without a vector unit: the newline
// found by the runtime's search, then the line indexed.
func indexNewlineGo(b []byte, m []byte) int {
	n := bytes.IndexByte(b, '\n')
	if n < 0 {
		n = len(b)
	}
	indexGo(b[:n], m)
	return n
}

// maxKeptIndex bounds what a Parser keeps of an index once lines are
// ordinary again: an index larger than that of a 32 MiB line (lines may be
// up to --max-line-size, 256 MiB) is let go at the first line that needs
// a sixteenth of it. A worker's index is sized by the rest of its chunk:
// about 160 KiB at the default 1 MiB chunks.
const maxKeptIndex = 4 << 20

// quote is scanString's usual case for b, the line the index was built
// for: the index of the closing quote of the string whose content starts
// at b[i] when the string ends within the 57-64 bytes after i and holds no
// backslash, or -1, and the caller asks the scanner. It is small enough to
// be inlined; with the call to the scanner it would not be.
func (x *index) quote(b []byte, i int) int {
	if k := uint(i) >> 3; k+8 <= uint(len(x.m)) {
		if w := binary.LittleEndian.Uint64(x.m[k:]) >> (uint(i) & 7); w != 0 {
			if e := i + bits.TrailingZeros64(w); uint(e) < uint(len(b)) && b[e] == '"' {
				return e
			}
		}
	}
	return -1
}

// end is scanString for b, the line the index was built for, where quote
// has no answer: the string is long or holds escapes. It walks the index's
// bits: a backslash and the byte after it are skipped, the first other bit
// is the closing quote.
func (x *index) end(b []byte, i int) (end int, esc bool, err error) {
	for i < len(b) && i < x.n {
		k := uint(i) >> 3
		if k+8 > uint(len(x.m)) {
			break
		}
		w := binary.LittleEndian.Uint64(x.m[k:]) >> (uint(i) & 7)
		if w == 0 {
			i = min(int(k+8)*8, x.n) // past the 57-64 bytes the word covered
			continue
		}
		e := i + bits.TrailingZeros64(w)
		if e >= len(b) {
			break
		}
		if b[e] == '"' {
			return e, esc, nil
		}
		esc = true // a backslash: the byte after it is escaped, whatever it is
		i = e + 2
	}
	end, esc2, err := scanString(b, min(i, len(b)))
	return end, esc || esc2, err
}

// indexGo is the index eight bytes at a time, where there is no vector
// unit for it.
func indexGo(b []byte, m []byte) {
	j := 0
	for ; j+8 <= len(b); j += 8 {
		w := binary.LittleEndian.Uint64(b[j:])
		m[j/8] = byte(eqMask(w, swarQuote) | eqMask(w, swarSlash))
	}
	if j < len(b) {
		var last byte
		for k, c := range b[j:] {
			if c == '"' || c == '\\' {
				last |= 1 << k
			}
		}
		m[j/8] = last
	}
}

// eqMask returns bit i set where byte i of w equals byte i of c, for c
// holding one byte value eight times. Exact, unlike quoteOrBackslash's
// test, which only finds the first.
func eqMask(w, c uint64) uint64 {
	x := w ^ c
	y := (x&^swarHighs + ^uint64(swarHighs)) | x | ^uint64(swarHighs)
	// ^y has 0x80 in exactly the zero bytes of x; the multiplication
	// gathers those eight bits into the low byte of the top.
	return (^y >> 7) * 0x0102040810204080 >> 56
}
