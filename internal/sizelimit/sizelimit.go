// Package sizelimit bounds what one input may hold (a snapshot document, a
// list item, an audit line, the decompressed size of a file), so hostile or
// broken input fails with a clear error instead of exhausting memory.
package sizelimit

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a number of bytes. It is a flag value: "64MiB", "64Mi", "1G"
// (decimal), "1048576".
type Size int64

var units = []struct {
	suffix string
	factor int64
}{
	{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
	{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"k", 1e3},
}

// Parse reads a size: a whole number with an optional unit, binary (Ki, Mi,
// Gi, Ti) or decimal (K, M, G, T), and an optional trailing B.
func Parse(s string) (Size, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "B")
	factor := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, factor = n, u.factor
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/factor {
		return 0, fmt.Errorf("%q: want a positive size such as 64MiB, 2GiB or 1048576", s)
	}
	return Size(n * factor), nil
}

// String prints the size in the largest binary unit that divides it.
func (s Size) String() string {
	for _, u := range units[:4] {
		if s >= Size(u.factor) && int64(s)%u.factor == 0 {
			return fmt.Sprintf("%d%sB", int64(s)/u.factor, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", int64(s))
}

// Set parses a flag value.
func (s *Size) Set(v string) error {
	n, err := Parse(v)
	if err != nil {
		return err
	}
	*s = n
	return nil
}

// Type names the flag's value in help.
func (s *Size) Type() string { return "size" }

// Or returns s, or def when s is not set.
func (s Size) Or(def Size) Size {
	if s <= 0 {
		return def
	}
	return s
}

// Error is input past a maximum. Limit names the maximum: "document",
// "item", "line" or "input" (the decompressed size of a whole input).
type Error struct {
	Limit string
	Max   Size
}

func (e *Error) Error() string {
	if e.Limit == "input" {
		return fmt.Sprintf("larger than the %v maximum for one input (decompressed)", e.Max)
	}
	return fmt.Sprintf("larger than the %v maximum for one %s", e.Max, e.Limit)
}
