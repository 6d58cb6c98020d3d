package preflight

import (
	"fmt"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/output"
)

// Report is the result of one preflight. Its JSON form is the documented
// `-o json` schema (docs/preflight.md).
type Report struct {
	// Kind is "helm" or "apply".
	Kind      string       `json:"kind"`
	Namespace string       `json:"namespace"`
	Release   *ReleaseInfo `json:"release,omitempty"`
	// Deletions, most severe first.
	Deletions []Deletion `json:"deletions"`
	// Dangerous is how many deletions fail the preflight.
	Dangerous int `json:"dangerous"`
	// Creations: what a Helm upgrade creates that the release lacked, by kind.
	Creations []KindCount `json:"creations,omitempty"`
	// Applied: what FILES hold, by kind (apply only).
	Applied       []KindCount    `json:"applied,omitempty"`
	ChartReleases *ChartReleases `json:"chartReleases,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	// Incomplete lists what could not be read; a report with entries here
	// never passes as clean.
	Incomplete []string `json:"incomplete,omitempty"`
}

func (r *Report) finish() {
	r.Dangerous = 0
	for _, d := range r.Deletions {
		if d.Dangerous {
			r.Dangerous++
		}
	}
	if r.ChartReleases != nil && r.ChartReleases.Warning != "" {
		r.Warnings = append(r.Warnings, r.ChartReleases.Warning)
	}
	if r.Deletions == nil {
		r.Deletions = []Deletion{}
	}
}

var writers = output.Writers[*Report]{{Format: "table", Write: WriteTable}, output.Wide(WriteTable), output.JSONWriter[*Report]()}

// Formats lists the formats Write accepts.
var Formats = writers.Formats()

// Write renders r as "table" (for people) or "json".
func Write(w io.Writer, format string, r *Report) error { return writers.Write(w, format, r) }

// WriteTable writes the report for people: the deletions first, most
// severe first, then what is created, then warnings and what was not read.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	switch {
	case r.Kind == "helm" && r.Release != nil:
		rel := r.Release
		fmt.Fprintf(&b, "helm upgrade of release %s in namespace %s (deployed revision %d, chart %s %s, %s; record %s)\n\n",
			output.Text(rel.Name), output.Text(rel.Namespace), rel.Revision, output.Text(rel.Chart), output.Text(rel.ChartVersion),
			output.Text(rel.Status), output.Text(rel.Record))
	case r.Kind == "helm":
		fmt.Fprintf(&b, "helm install into namespace %s\n\n", output.Text(r.Namespace))
	default:
		fmt.Fprintf(&b, "kubectl apply --prune (namespace %s)\n\n", output.Text(r.Namespace))
	}

	fmt.Fprintf(&b, "WOULD DELETE: %d objects, %d dangerous\n", len(r.Deletions), r.Dangerous)
	if len(r.Deletions) > 0 {
		tw := output.NewTable(&b, output.DisplayOf(w), 2).Shrink(3, 2).Paint(0, output.SeverityStyle)
		fmt.Fprintln(tw, "SEVERITY\tSTATUS\tOBJECT\tWEIGHT")
		for _, d := range r.Deletions {
			status := d.Status
			if d.Dangerous {
				status += "!"
			}
			// Names, hosts and kinds come from the cluster and the manifests:
			// escaped, they can neither forge a row nor rewrite the terminal.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Severity, status, output.Text(d.Object.String()), output.Text(d.Summary))
		}
		tw.Flush()
		for _, d := range r.Deletions {
			// The summary names six kinds; a fuller namespace gets them all.
			if len(d.Contents) > 6 && d.Kind == "Namespace" {
				fmt.Fprintf(&b, "  %s holds: %s\n", output.Text(d.Object.String()), output.Text(countsString(d.Contents, len(d.Contents))))
			}
			for _, n := range d.Notes {
				fmt.Fprintf(&b, "  %s: %s\n", output.Text(d.Object.String()), output.Text(n))
			}
		}
	}

	if r.Kind == "helm" {
		fmt.Fprintf(&b, "\nWOULD CREATE: %s\n", kindsOrNone(r.Creations))
	}
	if len(r.Applied) > 0 {
		fmt.Fprintf(&b, "\nAPPLIES: %s\n", kindsOrNone(r.Applied))
	}
	if cr := r.ChartReleases; cr != nil {
		fmt.Fprintf(&b, "\nRELEASES IN %s: %d others", output.Text(cr.Namespace), cr.OtherReleases)
		if cr.SameChart >= 0 {
			fmt.Fprintf(&b, ", %d of chart %s (found by %s)", cr.SameChart, output.Text(cr.Chart), cr.Method)
		}
		fmt.Fprintf(&b, "; warn at %d\n", cr.Threshold)
		if len(cr.PerRelease) > 0 {
			fmt.Fprintf(&b, "  each release of the chart creates: %s\n", output.Text(countsString(cr.PerRelease, len(cr.PerRelease))))
		}
		if len(cr.Existing) > 0 {
			fmt.Fprintf(&b, "  the namespace holds now: %s\n", output.Text(countsString(cr.Existing, len(cr.Existing))))
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\nWARNINGS\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(&b, "- %s\n", output.Text(s))
		}
	}
	if len(r.Incomplete) > 0 {
		b.WriteString("\nNOT READ (the report is incomplete)\n")
		for _, s := range r.Incomplete {
			fmt.Fprintf(&b, "- %s\n", output.Text(s))
		}
	}
	b.WriteString("\n")
	switch {
	case r.Dangerous > 0:
		fmt.Fprintf(&b, "FAIL: %d dangerous deletions (marked !). Keep an object out of the deletion with the annotation %s=%s on the live object, or accept it with --allow KIND/NAMESPACE/NAME.\n",
			r.Dangerous, ResourcePolicyAnnotation, KeepPolicy)
	case len(r.Incomplete) > 0:
		b.WriteString("INCOMPLETE: nothing dangerous found in what could be read.\n")
	default:
		b.WriteString("OK: nothing dangerous would be deleted.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kindsOrNone(cs []KindCount) string {
	if len(cs) == 0 {
		return "nothing"
	}
	return output.Text(countsString(cs, len(cs)))
}
