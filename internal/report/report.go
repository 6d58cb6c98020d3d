// Package report renders check results and the check catalog for people
// (table, markdown) and machines (json, whose schema docs/output-schema.md
// documents and tests keep stable).
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/snapshot"
)

var writers = output.Writers[*check.Result]{
	{Format: "table", Write: writeTable},
	output.Wide(writeTable),
	{Format: "json", Write: writeJSON},
	{Format: "markdown", Write: writeMarkdown},
	{Format: "html", Write: writeHTML},
}

// Formats lists the formats Write accepts ("md" is accepted for markdown).
var Formats = writers.Formats()

// Write renders r in format: table, json, markdown or html.
func Write(w io.Writer, format string, r *check.Result) error {
	if r == nil {
		return fmt.Errorf("report: nil result")
	}
	if format == "md" {
		format = "markdown"
	}
	return writers.Write(w, format, r)
}

// Summary is the one-line verdict the table and markdown end with. An
// incomplete result never reads as clean: it says what was not read.
func Summary(r *check.Result) string {
	var b strings.Builder
	n := len(r.Findings)
	switch {
	case n == 0 && r.Complete():
		fmt.Fprintf(&b, "No findings from %s.", check.Plural(len(r.Ran), "check", "checks"))
	case n == 0:
		fmt.Fprintf(&b, "INCOMPLETE: 0 findings from %s, which is NOT a clean result.", check.Plural(len(r.Ran), "check", "checks"))
	default:
		if !r.Complete() {
			b.WriteString("INCOMPLETE: ")
		}
		fmt.Fprintf(&b, "%s (%s) from %s.", check.Plural(n, "finding", "findings"), severityCounts(r), check.Plural(len(r.Ran), "check", "checks"))
	}
	if a := len(r.Accepted); a > 0 {
		// Accepted findings are never lost silently: counted here, listed
		// in -o json and, for the table, with -v (WriteAccepted).
		fmt.Fprintf(&b, " Accepted, not counted: %s.", check.Plural(a, "finding", "findings"))
	}
	if missing := NotRead(r.Info); len(missing) > 0 {
		fmt.Fprintf(&b, " Not read: %s.", strings.Join(missing, "; "))
	}
	var nr []string
	for _, x := range r.NotRun {
		nr = append(nr, fmt.Sprintf("%s (%s)", x.ID, firstLine(x.Reason)))
	}
	if len(nr) > 0 {
		fmt.Fprintf(&b, " Not run: %s.", strings.Join(nr, "; "))
	}
	if !r.Complete() && n > 0 {
		b.WriteString(" What was not read may hide more.")
	}
	return b.String()
}

// NotRead lists what the snapshot could not read, for the summary.
func NotRead(info snapshot.Info) []string {
	var out []string
	for _, s := range info.Skipped {
		out = append(out, fmt.Sprintf("%s (%s)", s.Resource.Name(), firstLine(s.Reason)))
	}
	for _, d := range info.DiscoveryFailures {
		out = append(out, fmt.Sprintf("API group %s (discovery failed: %s)", d.GroupVersion, firstLine(d.Error)))
	}
	return out
}

func severityCounts(r *check.Result) string {
	var parts []string
	for _, s := range check.Severities() {
		if n := r.Count(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// objectsCell renders a finding's objects in one short cell: the first, then
// "+N more".
func objectsCell(f check.Finding) string {
	switch len(f.Objects) {
	case 0:
		return "(cluster)"
	case 1:
		return f.Objects[0].String()
	}
	return fmt.Sprintf("%s +%d more", f.Objects[0].String(), len(f.Objects)-1)
}

func incidentsCell(f check.Finding) string { return strings.Join(f.Incidents, ",") }
