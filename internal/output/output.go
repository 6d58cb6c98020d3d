// Package output is the vocabulary every verb's -o shares: the names of the
// formats a writer supports, the one error for a format it does not, and
// the one JSON encoding of every machine-readable output.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats are the formats one writer supports, the default first.
type Formats []string

// String lists the formats for help and errors: "table, json or html".
func (f Formats) String() string {
	switch len(f) {
	case 0:
		return ""
	case 1:
		return f[0]
	}
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

// Default is the format used when none is asked for.
func (f Formats) Default() string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Check returns nil when format is one of f, else the one error every verb
// gives for an unknown format.
func (f Formats) Check(format string) error {
	if slices.Contains(f, format) {
		return nil
	}
	return fmt.Errorf("unknown output format %q: want %s", format, f)
}

// JSON writes v as indented JSON with a final newline: every -o json.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// Writer renders a value of type T in one format.
type Writer[T any] struct {
	Format string
	Write  func(io.Writer, T) error
}

// Writers are the formats a package renders T in, the default first: the
// one dispatch behind every verb's -o.
type Writers[T any] []Writer[T]

// JSONWriter is the "json" entry of a Writers.
func JSONWriter[T any]() Writer[T] {
	return Writer[T]{Format: "json", Write: func(w io.Writer, v T) error { return JSON(w, v) }}
}

// Formats lists the formats, the default first.
func (ws Writers[T]) Formats() Formats {
	f := make(Formats, 0, len(ws))
	for _, x := range ws {
		f = append(f, x.Format)
	}
	return f
}

// Write renders v in format ("" is the default), or returns the error for
// an unknown format.
func (ws Writers[T]) Write(w io.Writer, format string, v T) error {
	if format == "" && len(ws) > 0 {
		format = ws[0].Format
	}
	for _, x := range ws {
		if x.Format == format {
			return x.Write(w, v)
		}
	}
	return ws.Formats().Check(format)
}
