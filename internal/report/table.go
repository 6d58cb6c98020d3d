package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

// maxTitle keeps one finding on one line of a wide terminal.
const maxTitle = 100

// maxRows keeps the table on one screen: with more findings, those below
// high are summarised by check under it (every critical and high finding
// is always a row of its own).
const maxRows = 30

func writeTable(w io.Writer, r *check.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	shown, rest := r.Findings, []check.Finding(nil)
	if len(shown) > maxRows {
		// Findings come most severe first.
		cut := slices.IndexFunc(shown, func(f check.Finding) bool { return f.Severity < check.High })
		if cut >= 0 {
			shown, rest = shown[:cut], shown[cut:]
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tOBJECT\tFINDING\tINCIDENT")
		last := check.Severity(-1)
		for _, f := range shown {
			// Findings come sorted by severity; name each group once.
			sev := ""
			if f.Severity != last {
				sev = strings.ToUpper(f.Severity.String())
				last = f.Severity
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sev, f.ID, output.Text(objectsCell(f)), truncate(output.Text(oneLine(f.Title)), maxTitle), incidentsCell(f))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
		writeRest(w, rest)
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, output.Text(Summary(r)))
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if len(r.Findings) > 0 {
		_, err = fmt.Fprintln(w, "Details: -o markdown or -o json; premortem checks explain <CHECK>.")
	}
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeRest summarises findings the table leaves out: per severity, how many
// and which checks (with their counts), wrapped.
func writeRest(w io.Writer, rest []check.Finding) {
	if len(rest) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s below high, by check (each one: -o markdown or -o json):\n", check.Plural(len(rest), "finding", "findings"))
	for len(rest) > 0 {
		sev := rest[0].Severity
		n := slices.IndexFunc(rest, func(f check.Finding) bool { return f.Severity != sev })
		if n < 0 {
			n = len(rest)
		}
		var ids []string
		count := map[string]int{}
		for _, f := range rest[:n] {
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
		}
		line := fmt.Sprintf("  %-8s %d:", strings.ToUpper(sev.String()), n)
		indent := strings.Repeat(" ", len(line))
		for i, id := range ids {
			sep := " "
			if i < len(ids)-1 {
				id += ","
			}
			if len(line)+len(sep)+len(id) > maxTitle+20 {
				fmt.Fprintln(w, line)
				line = indent
			}
			line += sep + id
		}
		fmt.Fprintln(w, line)
		rest = rest[n:]
	}
}
