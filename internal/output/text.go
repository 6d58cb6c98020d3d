package output

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text makes a string from cluster or log data safe to print in a
// terminal table or a markdown file: control characters (newlines and
// tabs included, which would forge rows and columns; escape sequences,
// which would rewrite the terminal), Unicode direction overrides (which
// reorder what is shown) and invalid UTF-8 are written as Go escapes
// (\n, \x1b, \u202e, \xff). Everything else passes as it is. JSON and
// HTML have escaping of their own and need none of this.
func Text(s string) string {
	if safeASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func safeASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports C1 controls, bidirectional formatting characters and
// the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Lines is Text for multi-line text: its line breaks stay line breaks,
// everything else is escaped as Text escapes it.
func Lines(s string) string {
	if safeASCII(strings.ReplaceAll(s, "\n", " ")) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Text(l)
	}
	return strings.Join(lines, "\n")
}
