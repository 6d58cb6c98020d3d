package audit

import (
	"bytes"
	"testing"
)

// TestKeyGuess: each expected key is recognized at the start of 32 bytes
// that begin with `"name":`, and not when any byte of that is changed or
// the name is a prefix of a longer one.
func TestKeyGuess(t *testing.T) {
	for which, ks := range keyOrder {
		for k := range ks {
			name := ks[k].name
			if f := fieldOf(which, []byte(name)); f != ks[k].field {
				t.Errorf("%s: field %d, fieldOf says %d", name, ks[k].field, f)
			}
			pat := []byte(`"` + name + `":`)
			var s [32]byte
			copy(s[:], bytes.Repeat([]byte("x"), 32))
			copy(s[:], pat)
			if !ks[k].at(&s) {
				t.Errorf("%s: not recognized in %q", name, s)
			}
			// Found from any of the places before it that look this far.
			for from := max(0, k-guesses+1); from <= k; from++ {
				if got := ks.from(&s, from); got != k {
					t.Errorf("%s: from(%d) = %d, want %d", name, from, got, k)
				}
			}
			for j := range pat {
				m := s
				m[j] ^= 0x20
				if ks[k].at(&m) {
					t.Errorf("%s: recognized in %q", name, m)
				}
			}
			longer := s
			copy(longer[:], `"`+name+`s":`)
			if ks[k].at(&longer) {
				t.Errorf("%s: recognized in %q", name, longer)
			}
		}
	}
}
