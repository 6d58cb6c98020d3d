package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

// WriteAccepted lists the accepted findings of r under the table (scan -v):
// what each was, and what accepted it and why.
func WriteAccepted(w io.Writer, r *check.Result) error {
	if len(r.Accepted) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCEPTED\tCHECK\tOBJECT\tFINDING\tACCEPTED BY\tREASON")
	for _, a := range r.Accepted {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(a.Severity.String()), a.ID, output.Text(objectsCell(a.Finding)),
			truncate(output.Text(oneLine(a.Title)), maxTitle), output.Text(strings.Join(a.AcceptedBy, "; ")), output.Text(oneLine(strings.Join(a.Reasons, "; "))))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write accepted: %w", err)
	}
	return nil
}
