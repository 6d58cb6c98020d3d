package refs

import (
	"fmt"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
)

var writers = output.Writers[*Result]{{Format: "table", Write: writeTable}, output.Wide(writeTable), output.JSONWriter[*Result]()}

// Formats lists the formats Write accepts.
var Formats = writers.Formats()

// Write renders r as "table" or "json". Secret values never appear: a
// reference in a Secret carries no context, only its key (and, for a
// stored kubeconfig, the cluster entry's name and server).
func Write(w io.Writer, format string, r *Result) error { return writers.Write(w, format, r) }

func writeTable(w io.Writer, r *Result) error {
	total := 0
	for _, n := range r.Searched {
		total += n
	}
	for _, q := range r.Queries {
		var mine []Reference
		for _, ref := range r.References {
			if ref.Query == q {
				mine = append(mine, ref)
			}
		}
		if len(mine) == 0 {
			fmt.Fprintf(w, "%s: no references (searched %d objects)\n\n", output.Text(q), total)
			continue
		}
		fmt.Fprintf(w, "%s: %s\n", output.Text(q), check.Plural(len(mine), "reference", "references"))
		tw := output.NewTable(w, output.DisplayOf(w), 2).Shrink(3, 2, 1, 0)
		fmt.Fprintln(tw, "  OBJECT\tFIELD\tDETAIL\tCONSUMED BY")
		for _, ref := range mine {
			// Names, keys, servers and lines come from the cluster: escaped,
			// they can neither forge a row nor rewrite the terminal.
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", output.Text(ref.Object.String()), output.Text(ref.Field),
				output.Text(detail(ref)), output.Text(consumers(ref.Consumers)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, s := range r.NotRead {
		fmt.Fprintf(w, "NOT SEARCHED: %s: %s\n", output.Text(s.Resource.Name()), output.Text(s.Reason))
	}
	if !r.Complete() {
		fmt.Fprintln(w, "The search is incomplete: references in what was not searched are unknown.")
	}
	return nil
}

func detail(r Reference) string {
	switch r.Kind {
	case "kubeconfig":
		return fmt.Sprintf("kubeconfig cluster %q: server %s", r.Kubeconfig.Name, r.Kubeconfig.Server)
	case "secret-data":
		return "named in Secret data (value not shown)"
	}
	if r.Context == "" {
		return r.Kind
	}
	return r.Kind + ": " + r.Context
}

func consumers(cs []Consumer) string {
	if len(cs) == 0 {
		return "-"
	}
	var parts []string
	for _, c := range cs {
		s := c.Workload.String()
		if c.How != "" {
			s += " [" + c.How + "]"
		}
		switch n := len(c.Pods); {
		case n == 0:
			s += " (no pods)"
		case n <= 3:
			s += " pods: " + strings.Join(c.Pods, ",")
		default:
			s += fmt.Sprintf(" pods: %s +%d more", strings.Join(c.Pods[:3], ","), n-3)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
