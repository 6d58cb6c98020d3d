package report

import (
	"io"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/snapshot"
)

// SchemaVersion names the -o json schema (docs/output-schema.md). Additive
// changes keep it; anything else bumps it.
const SchemaVersion = "premortem/scan/v1"

// Output is the -o json document.
type Output struct {
	SchemaVersion string          `json:"schemaVersion"`
	Info          snapshot.Info   `json:"info"`
	Complete      bool            `json:"complete"`
	Summary       OutputSummary   `json:"summary"`
	Findings      []check.Finding `json:"findings"`
	Ran           []string        `json:"ran"`
	NotRun        []check.NotRun  `json:"notRun"`
	// Accepted are the findings premortem.dev/accept annotations or
	// --accept took out of Findings; absent when none were.
	Accepted []check.Accepted `json:"accepted,omitempty"`
}

// OutputSummary counts the findings.
type OutputSummary struct {
	Findings    int            `json:"findings"`
	BySeverity  map[string]int `json:"bySeverity"`
	MaxSeverity string         `json:"maxSeverity,omitempty"`
	Text        string         `json:"text"`
}

// NewOutput builds the JSON document for r, with empty lists instead of
// nulls so consumers need no nil checks.
func NewOutput(r *check.Result) Output {
	o := Output{SchemaVersion: SchemaVersion, Info: r.Info, Complete: r.Complete(),
		Findings: make([]check.Finding, 0, len(r.Findings)), Ran: r.Ran, NotRun: r.NotRun}
	if o.Ran == nil {
		o.Ran = []string{}
	}
	if o.NotRun == nil {
		o.NotRun = []check.NotRun{}
	}
	for _, f := range r.Findings {
		o.Findings = append(o.Findings, noNulls(f))
	}
	for _, a := range r.Accepted {
		a.Finding = noNulls(a.Finding)
		o.Accepted = append(o.Accepted, a)
	}
	o.Summary = OutputSummary{Findings: len(r.Findings), BySeverity: map[string]int{}, Text: Summary(r)}
	for _, s := range check.Severities() {
		o.Summary.BySeverity[s.String()] = r.Count(s)
	}
	if m, ok := r.Max(); ok {
		o.Summary.MaxSeverity = m.String()
	}
	return o
}

// noNulls gives f empty lists and maps instead of nil ones.
func noNulls(f check.Finding) check.Finding {
	if f.Objects == nil {
		f.Objects = []check.Object{}
	}
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	if f.Incidents == nil {
		f.Incidents = []string{}
	}
	return f
}

func writeJSON(w io.Writer, r *check.Result) error {
	return output.JSON(w, NewOutput(r))
}
