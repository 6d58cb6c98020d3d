package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

// maxTitle keeps one finding on one line of a wide terminal.
const maxTitle = 100

// maxRows keeps the table on one screen: with more findings, those below
// high are summarised by check under it (every critical and high finding
// is always a row of its own). On a terminal its height decides instead.
const maxRows = 30

// tableLines are the lines a table takes besides its rows: header, blank
// line, verdict, details hint, and one for the prompt.
const tableLines = 5

func writeTable(w io.Writer, r *check.Result) error {
	d := output.DisplayOf(w)
	shown, rest := r.Findings, []check.Finding(nil)
	// Findings come most severe first: rows are cut below high.
	cut := slices.IndexFunc(shown, func(f check.Finding) bool { return f.Severity < check.High })
	summaryFirst := false
	switch {
	case d.All:
	case d.Height > 0:
		// A terminal: when the rows do not fit on one screen, the counts
		// by severity and check come first, then the rows at high and above.
		if len(shown)+tableLines > d.Height {
			summaryFirst = true
			if cut >= 0 {
				shown, rest = shown[:cut], shown[cut:]
			}
		}
	case cut >= 0 && len(shown) > maxRows:
		shown, rest = shown[:cut], shown[cut:]
	}
	if summaryFirst {
		fmt.Fprintln(w, d.Wrap(fmt.Sprintf("%s (%s) by severity and check; the rows are those at high and above, --all shows every row:",
			check.Plural(len(r.Findings), "finding", "findings"), severityCounts(r)), ""))
		writeCounts(w, d, r.Findings)
		fmt.Fprintln(w)
	}
	if len(shown) > 0 {
		tw := output.NewTable(w, d, 2).Shrink(2, 3).Drop(4).Paint(0, output.SeverityStyle)
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tOBJECT\tFINDING\tINCIDENT")
		last := check.Severity(-1)
		for _, f := range shown {
			// Findings come sorted by severity; name each group once.
			sev := ""
			if f.Severity != last {
				sev = strings.ToUpper(f.Severity.String())
				last = f.Severity
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sev, f.ID, output.Text(objectsCell(f)), titleCell(f, d), incidentsCell(f))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if len(rest) > 0 && !summaryFirst {
		fmt.Fprintf(w, "\n%s below high, by check (each one: -o markdown or -o json):\n", check.Plural(len(rest), "finding", "findings"))
		writeCounts(w, d, rest)
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, d.Wrap(output.Text(Summary(r)), ""))
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if len(r.Findings) > 0 {
		_, err = fmt.Fprintln(w, d.Wrap("Details: -o markdown or -o json; premortem checks explain <CHECK>.", ""))
	}
	return err
}

// titleCell is a finding's title on one line, cut at maxTitle but with
// -o wide.
func titleCell(f check.Finding, d output.Display) string {
	if d.Full {
		return output.Text(oneLine(f.Title))
	}
	return output.Truncate(output.Text(oneLine(f.Title)), maxTitle)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeCounts writes one line per severity with its findings' checks and
// their counts, wrapped.
func writeCounts(w io.Writer, d output.Display, fs []check.Finding) {
	width := maxTitle + 20
	if d.Width > 0 && !d.Full {
		width = d.Width
	}
	for len(fs) > 0 {
		sev := fs[0].Severity
		n := slices.IndexFunc(fs, func(f check.Finding) bool { return f.Severity != sev })
		if n < 0 {
			n = len(fs)
		}
		var ids []string
		count := map[string]int{}
		for _, f := range fs[:n] {
			if count[f.ID] == 0 {
				ids = append(ids, f.ID)
			}
			count[f.ID]++
		}
		slices.Sort(ids)
		for i, id := range ids {
			if count[id] > 1 {
				ids[i] = fmt.Sprintf("%s (%d)", id, count[id])
			}
			if i < len(ids)-1 {
				ids[i] += ","
			}
		}
		label := strings.ToUpper(sev.String())
		line := fmt.Sprintf("  %-8s %d:", label, n)
		text := output.Wrap(line+" "+strings.Join(ids, " "), width, strings.Repeat(" ", len(line)+1))
		// The label is painted once the line is laid out: escapes take no room.
		fmt.Fprintln(w, strings.Replace(text, label, d.Paint(label, output.SeverityStyle(label)), 1))
		fs = fs[n:]
	}
}
