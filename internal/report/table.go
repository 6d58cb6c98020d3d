package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

// maxTitle keeps one finding on one line of a wide terminal.
const maxTitle = 100

func writeTable(w io.Writer, r *check.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Findings) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tOBJECT\tFINDING\tINCIDENT")
		last := check.Severity(-1)
		for _, f := range r.Findings {
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
