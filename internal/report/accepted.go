package report

import (
	"fmt"
	"io"
	"strings"

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
	d := output.DisplayOf(w)
	tw := output.NewTable(w, d, 2).Shrink(3, 5, 2, 4).Paint(0, output.SeverityStyle)
	fmt.Fprintln(tw, "ACCEPTED\tCHECK\tOBJECT\tFINDING\tACCEPTED BY\tREASON")
	for _, a := range r.Accepted {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(a.Severity.String()), a.ID, output.Text(objectsCell(a.Finding)),
			titleCell(a.Finding, d), output.Text(strings.Join(a.AcceptedBy, "; ")), output.Text(oneLine(strings.Join(a.Reasons, "; "))))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write accepted: %w", err)
	}
	return nil
}
