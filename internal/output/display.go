package output

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Display is how text output is laid out for whoever reads it. The zero
// Display is a pipe or a file: full width, no color, rows cut as they
// always were; output that scripts and golden files can rely on.
//
// A command attaches its Display to stdout (WithDisplay) and every text
// writer reads it back from the writer it is given (DisplayOf), so that
// the writers' signatures stay those of Writers[T].
type Display struct {
	// Width and Height are the terminal's size in cells; 0 is unbounded:
	// tables are not fitted, and long results are not summarised first.
	Width, Height int
	// Color paints severities (ANSI SGR sequences).
	Color bool
	// Full shows every column in full (-o wide): no fitting, no truncation.
	Full bool
	// All shows every row (--all): no counts in place of rows.
	All bool
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Detect returns the Display of w: its size and color when it is a
// terminal, the zero Display when it is not. Color follows no-color.org:
// any non-empty NO_COLOR turns it off, and so does TERM=dumb.
func Detect(w io.Writer, getenv func(string) string) Display {
	if !IsTerminal(w) {
		return Display{}
	}
	width, height, err := term.GetSize(int(w.(*os.File).Fd()))
	if err != nil || width <= 0 {
		// A terminal of unknown size: colored, not fitted.
		width, height = 0, 0
	}
	return Display{Width: width, Height: max(height, 0), Color: getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"}
}

// ColorModes are the values of --color.
var ColorModes = Formats{"auto", "always", "never"}

// WithColor is d with color as mode says: "auto" keeps what Detect found,
// "always" and "never" override it (a command-line flag outranks NO_COLOR).
func (d Display) WithColor(mode string) (Display, error) {
	switch mode {
	case "auto", "":
	case "always":
		d.Color = true
	case "never":
		d.Color = false
	default:
		return d, fmt.Errorf("--color %q: want %s", mode, ColorModes)
	}
	return d, nil
}

// displayWriter is a writer that carries its Display.
type displayWriter struct {
	io.Writer
	d Display
}

// WithDisplay returns w carrying d, for DisplayOf. The zero Display needs
// no carrier: w itself is returned.
func WithDisplay(w io.Writer, d Display) io.Writer {
	if dw, ok := w.(*displayWriter); ok {
		w = dw.Writer
	}
	if d == (Display{}) {
		return w
	}
	return &displayWriter{Writer: w, d: d}
}

// DisplayOf returns the Display w carries, the zero Display if none.
func DisplayOf(w io.Writer) Display {
	if dw, ok := w.(*displayWriter); ok {
		return dw.d
	}
	return Display{}
}

// Wide is the "wide" entry of a Writers: table, every column in full,
// never fitted to the terminal (color stays).
func Wide[T any](table func(io.Writer, T) error) Writer[T] {
	return Writer[T]{Format: "wide", Write: func(w io.Writer, v T) error {
		d := DisplayOf(w)
		d.Width, d.Full = 0, true
		return table(WithDisplay(w, d), v)
	}}
}

// Style is an ANSI SGR parameter list: "1;31" is bold red.
type Style string

// The styles of severities and verdicts.
const (
	Plain   Style = ""
	BoldRed Style = "1;31"
	Red     Style = "31"
	Yellow  Style = "33"
	Cyan    Style = "36"
	Dim     Style = "2"
)

// Paint wraps s in st when d has color; s must already be escaped (Text).
func (d Display) Paint(s string, st Style) string {
	if !d.Color || st == Plain || s == "" {
		return s
	}
	return "\x1b[" + string(st) + "m" + s + "\x1b[0m"
}

// SeverityStyle is how a severity is painted, by its name in any case
// (check.Severity's String): the more severe, the louder.
func SeverityStyle(name string) Style {
	switch strings.ToLower(name) {
	case "critical":
		return BoldRed
	case "high":
		return Red
	case "medium":
		return Yellow
	case "low":
		return Cyan
	case "info":
		return Dim
	}
	return Plain
}

// Wrap is s wrapped at spaces to d's width (Wrap) when d is a terminal's
// and not -o wide; elsewhere s stays one line, as scripts expect it.
func (d Display) Wrap(s, indent string) string {
	if d.Width <= 0 || d.Full {
		return s
	}
	return Wrap(s, d.Width, indent)
}
