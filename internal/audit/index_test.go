package audit

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestIndex checks the index, built by the vector code where there is one
// and by the portable code, against a byte-by-byte one, at every length
// around the blocks of 32 and 64 bytes, and its look-ups (quote, end)
// against the scanner at every position.
func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\"\\\n")
	builders := map[string]func(b, m []byte){"indexLine": indexLine, "indexGo": indexGo}
	for n := range 300 {
		for r := range 50 {
			// Dense and sparse: words of the index with no bit at all.
			density := []int{6, 80}[r%2]
			// b is cut from a larger buffer of quotes: a build that read
			// past b's end would set bits for them.
			buf := make([]byte, n+64)
			for k := range buf {
				buf[k] = '"'
			}
			b := buf[:n]
			for k := range b {
				b[k] = 'x'
				if rng.IntN(density) == 0 {
					b[k] = alphabet[rng.IntN(len(alphabet))]
				}
			}
			want := make([]byte, (n+31)/32*4)
			for k, c := range b {
				if c == '"' || c == '\\' {
					want[k/8] |= 1 << (k % 8)
				}
			}
			for name, build := range builders {
				m := make([]byte, len(want))
				build(b, m)
				for k := range want {
					if m[k] != want[k] {
						t.Fatalf("%s(%q): byte %d = %08b, want %08b", name, b, k, m[k], want[k])
					}
				}
			}
			// cut: the line up to the first newline, indexed as build
			// indexes it, whatever follows the newline.
			var c index
			wantN := bytes.IndexByte(b, '\n')
			if wantN < 0 {
				wantN = n
			}
			if got := c.cut(b); got != wantN {
				t.Fatalf("cut(%q) = %d, want %d", b, got, wantN)
			}
			// The portable search and index, on any processor.
			g := make([]byte, (n+31)/32*4+8)
			if got := indexNewlineGo(b, g); got != wantN {
				t.Fatalf("indexNewlineGo(%q) = %d, want %d", b, got, wantN)
			}
			var l index
			l.build(b[:wantN])
			for k := range (wantN + 7) / 8 {
				if g[k] != l.m[k] {
					t.Fatalf("indexNewlineGo(%q): index byte %d = %08b, build of the line has %08b", b, k, g[k], l.m[k])
				}
			}
			for k := 0; k < wantN/8+8; k++ {
				if c.m[k] != l.m[k] {
					t.Fatalf("cut(%q): index byte %d = %08b, build of the line has %08b", b, k, c.m[k], l.m[k])
				}
			}
			var x index
			x.build(b)
			for i := 0; i <= n; i++ {
				wantEnd, wantEsc, err := scanString(b, i)
				end := x.quote(b, i)
				if end >= 0 && (err != nil || end != wantEnd || wantEsc) {
					t.Fatalf("quote(%q, %d) = %d; the scanner finds %d, %v, %v", b, i, end, wantEnd, wantEsc, err)
				}
				if e, esc, err2 := x.end(b, i); e != wantEnd || esc != wantEsc || (err2 == nil) != (err == nil) {
					t.Fatalf("end(%q, %d) = %d, %v, %v; the scanner finds %d, %v, %v", b, i, e, esc, err2, wantEnd, wantEsc, err)
				}
				// The index answers for every short string without escapes.
				if end < 0 && err == nil && !wantEsc && wantEnd-i < 57 {
					t.Fatalf("quote(%q, %d) = -1; the scanner finds %d", b, i, wantEnd)
				}
			}
		}
	}
}

func TestEqMask(t *testing.T) {
	for pat := range 256 {
		for _, other := range []byte{0, 0x21, 0x23, 0xa2, 0xff, 0x7f, 0x80} {
			var w uint64
			for k := range 8 {
				c := other
				if pat&(1<<k) != 0 {
					c = '"'
				}
				w |= uint64(c) << (8 * k)
			}
			if got := eqMask(w, swarQuote); got != uint64(pat) {
				t.Fatalf("eqMask(%016x) = %08b, want %08b", w, got, pat)
			}
		}
	}
}

// TestIndexNotKeptAfterHugeLine: a Parser's index grown for a line past
// maxKeptIndex's is let go at the next ordinary line.
func TestIndexNotKeptAfterHugeLine(t *testing.T) {
	var x index
	huge := make([]byte, maxKeptIndex*8+1)
	x.build(huge)
	if cap(x.m) <= maxKeptIndex {
		t.Fatalf("index of a %d-byte line holds %d bytes", len(huge), cap(x.m))
	}
	x.build([]byte(`{"verb":"get"}`))
	if cap(x.m) > maxKeptIndex {
		t.Fatalf("index kept %d bytes after a short line", cap(x.m))
	}
	if got := x.quote([]byte(`{"verb":"get"}`), 2); got != 6 {
		t.Fatalf("quote after the shrink = %d, want 6", got)
	}
}
