package output

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Table is every verb's text table: written like a tabwriter (cells end
// with a tab, rows with a newline), aligned when flushed. For the zero
// Display (a pipe, a file) it is text/tabwriter itself, so that piped
// output stays what it always was. On a terminal it fits the Display's
// width: the columns marked Shrink are truncated with an ellipsis, then,
// if that is not enough, the columns marked Drop are left out (-o wide
// shows them), so that no row wraps; cells are painted when the Display
// has color.
type Table struct {
	w       io.Writer
	d       Display
	padding int
	buf     bytes.Buffer
	shrink  []int
	drop    []int
	paint   map[int]func(cell string) Style
}

// shrinkMin is the narrowest a shrinking column gets: less says nothing.
// Columns marked Drop go before a shrinking column has to be narrower
// than dropBelow.
const (
	shrinkMin = 12
	dropBelow = 30
)

// NewTable returns a table writing to w, laid out for d, with padding
// spaces between columns.
func NewTable(w io.Writer, d Display, padding int) *Table {
	return &Table{w: w, d: d, padding: padding}
}

// Shrink marks columns (counted from 0) that may be truncated to fit,
// the first given shrinking first when two are as wide.
func (t *Table) Shrink(cols ...int) *Table { t.shrink = append(t.shrink, cols...); return t }

// Drop marks columns that are left out, in this order, when fitting would
// otherwise shrink a column below dropBelow.
func (t *Table) Drop(cols ...int) *Table { t.drop = append(t.drop, cols...); return t }

// Paint colors column col's cells with the style f returns for each.
func (t *Table) Paint(col int, f func(cell string) Style) *Table {
	if t.paint == nil {
		t.paint = map[int]func(string) Style{}
	}
	t.paint[col] = f
	return t
}

func (t *Table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the table.
func (t *Table) Flush() error {
	defer t.buf.Reset()
	if t.d.Width <= 0 && !t.d.Color {
		tw := tabwriter.NewWriter(t.w, 0, 4, t.padding, ' ', 0)
		if _, err := tw.Write(t.buf.Bytes()); err != nil {
			return err
		}
		return tw.Flush()
	}
	text := t.buf.String()
	end := ""
	if strings.HasSuffix(text, "\n") {
		text, end = text[:len(text)-1], "\n"
	}
	var rows [][]string
	ncol := 0
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "\t")
		rows = append(rows, cells)
		ncol = max(ncol, len(cells))
	}
	width := make([]int, ncol)
	for _, cells := range rows {
		for c, cell := range cells {
			width[c] = max(width[c], utf8.RuneCountInString(cell))
		}
	}
	keep := t.fit(width)
	var b strings.Builder
	for i, cells := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t.row(cells, width, keep))
	}
	b.WriteString(end)
	_, err := io.WriteString(t.w, b.String())
	return err
}

// fit narrows width to the Display's width and returns which columns
// are shown.
func (t *Table) fit(width []int) []bool {
	keep := make([]bool, len(width))
	for c := range keep {
		keep[c] = true
	}
	if t.d.Width <= 0 || t.d.Full {
		return keep
	}
	total := func(least bool) int {
		n, shown := 0, 0
		for c, w := range width {
			if !keep[c] {
				continue
			}
			if least && slices.Contains(t.shrink, c) {
				w = min(w, dropBelow)
			}
			n += w
			shown++
		}
		return n + t.padding*max(shown-1, 0)
	}
	for _, c := range t.drop {
		if total(true) <= t.d.Width {
			break
		}
		if c < len(keep) {
			keep[c] = false
		}
	}
	// The widest shrinking column gives up a cell at a time: in the end the
	// narrower ones are whole and the wider ones cut to one width.
	for over := total(false) - t.d.Width; over > 0; over-- {
		widest := -1
		for _, c := range t.shrink {
			if c < len(width) && keep[c] && width[c] > shrinkMin && (widest < 0 || width[c] > width[widest]) {
				widest = c
			}
		}
		if widest < 0 {
			break
		}
		width[widest]--
	}
	return keep
}

// row renders one row: cells truncated to their column's width and padded,
// but the last; painted; cut at the Display's width as a last resort.
func (t *Table) row(cells []string, width []int, keep []bool) string {
	var b strings.Builder
	n, pending, started := 0, 0, false
	last := len(cells) - 1
	for last > 0 && (!keep[last] || cells[last] == "") {
		last--
	}
	for c, cell := range cells[:last+1] {
		if !keep[c] {
			continue
		}
		cell = Truncate(cell, width[c])
		fitted := t.d.Width > 0 && !t.d.Full
		if started {
			if fitted && n+pending >= t.d.Width {
				break
			}
			b.WriteString(strings.Repeat(" ", pending))
			n += pending
		}
		started = true
		w := utf8.RuneCountInString(cell)
		if fitted && n+w > t.d.Width {
			cell = Truncate(cell, t.d.Width-n)
			w = utf8.RuneCountInString(cell)
		}
		if f := t.paint[c]; f != nil {
			b.WriteString(t.d.Paint(cell, f(cell)))
		} else {
			b.WriteString(cell)
		}
		n += w
		pending = width[c] - w + t.padding
	}
	return b.String()
}

// Truncate shortens s to n runes, the last an ellipsis.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Wrap breaks s at spaces into lines of at most width runes, the lines
// after the first starting with indent. A word longer than a line keeps a
// line of its own; runs of spaces are kept.
func Wrap(s string, width int, indent string) string {
	words := strings.Split(s, " ")
	var b strings.Builder
	line := words[0]
	for _, word := range words[1:] {
		if word != "" && strings.TrimSpace(line) != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			b.WriteString(line)
			b.WriteByte('\n')
			line = indent + word
			continue
		}
		line += " " + word
	}
	b.WriteString(line)
	return b.String()
}
