package audit

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestIndex checks the index of a line, cut at its first newline by the
// vector code where there is one and by the portable code, against a
// byte-by-byte index, at every length around the blocks of 32 bytes and
// the index's 64-bit windows; and its look-ups (quote, end) against the
// scanner at every position, past the newline too.
func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\"\\\n")
	for n := range 300 {
		for r := range 50 {
			// Dense and sparse: words of the index with no bit at all.
			density := []int{6, 80}[r%2]
			// b is cut from a larger buffer of quotes, whose bits must not
			// show (reads past b's end are TestIndexStaysInsideTheLine's).
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
			nl := bytes.IndexByte(b, '\n')
			if nl < 0 {
				nl = n
			}
			// The line's bits, then zero bytes as far as a window from its
			// end reads.
			want := make([]byte, nl/8+8)
			for k, c := range b[:nl] {
				if c == '"' || c == '\\' {
					want[k/8] |= 1 << (k % 8)
				}
			}
			var x index
			if got := x.cut(b); got != nl {
				t.Fatalf("cut(%q) = %d, want %d", b, got, nl)
			}
			if !bytes.Equal(x.m, want) {
				t.Fatalf("cut(%q): index %08b, want %08b", b, x.m, want)
			}
			// The portable search and index, on any processor.
			g := make([]byte, (n+31)/32*4+8)
			if got := indexNewlineGo(b, g); got != nl {
				t.Fatalf("indexNewlineGo(%q) = %d, want %d", b, got, nl)
			}
			if !bytes.Equal(g[:(nl+7)/8], want[:(nl+7)/8]) {
				t.Fatalf("indexNewlineGo(%q): index %08b, want %08b", b, g[:(nl+7)/8], want[:(nl+7)/8])
			}
			for i := 0; i <= n; i++ {
				wantEnd, wantEsc, err := scanString(b, i)
				end := x.quote(b, i)
				if end >= 0 && (err != nil || end != wantEnd || wantEsc) {
					t.Fatalf("quote(%q, %d) = %d; the scanner finds %d, %v, %v", b, i, end, wantEnd, wantEsc, err)
				}
				if e, esc, err2 := x.end(b, i); e != wantEnd || esc != wantEsc || (err2 == nil) != (err == nil) {
					t.Fatalf("end(%q, %d) = %d, %v, %v; the scanner finds %d, %v, %v", b, i, e, esc, err2, wantEnd, wantEsc, err)
				}
				// The index answers for every short string of the line
				// without escapes.
				if end < 0 && err == nil && !wantEsc && wantEnd-i < 57 && wantEnd < nl {
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
