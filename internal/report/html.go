package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/incident"
	"github.com/premortem/premortem/internal/output"
)

// The page is one file to attach to a ticket: inline CSS, no script, no
// font or image fetched. html/template escapes what the cluster wrote;
// output.Text and output.Lines also make its control bytes visible, as in
// the other formats.
//
//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("scan").Parse(htmlSource))

// CatalogFormats lists the formats WriteCatalog accepts: the scan's but
// html (the catalog's page is docs/reference).
var CatalogFormats = catalogWriters.Formats()

type htmlPage struct {
	Source, TakenAt, ServerVersion string
	Summary                        string
	Complete                       bool
	Counts                         []htmlCount
	Severities                     []htmlSeverity
	NotRead                        []string
	NotRun                         []htmlNotRun
	Accepted                       []htmlAccepted
	Ran                            []string
}

type htmlCount struct {
	Severity string
	N        int
}

// htmlSeverity holds one severity's findings, grouped by check in the
// order the result sorts them.
type htmlSeverity struct {
	Name   string
	Checks []htmlCheck
}

type htmlCheck struct {
	ID, Anchor string
	Findings   []htmlFinding
}

type htmlFinding struct {
	Title, Message, Remediation string
	Objects                     []string
	MoreObjects                 int
	Evidence                    string
	Incidents                   []htmlIncident
}

// htmlIncident is an incident a finding resembles, with the write-up
// docs/incidents.md links.
type htmlIncident struct {
	ID, Title, Org, URL string
	Year                int
}

type htmlNotRun struct{ ID, Reason string }

type htmlAccepted struct {
	Severity, ID, Title, By, Reasons string
}

func writeHTML(w io.Writer, r *check.Result) error {
	p := htmlPage{
		Source:        output.Text(r.Info.Source),
		ServerVersion: output.Text(r.Info.ServerVersion),
		Summary:       output.Text(Summary(r)),
		Complete:      r.Complete(),
		Ran:           r.Ran,
	}
	if !r.Info.TakenAt.IsZero() {
		p.TakenAt = r.Info.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, s := range check.Severities() {
		if n := r.Count(s); n > 0 {
			p.Counts = append(p.Counts, htmlCount{s.String(), n})
		}
		sev := htmlSeverity{Name: s.String()}
		for _, f := range r.Findings {
			if f.Severity != s {
				continue
			}
			hf, err := toHTMLFinding(f)
			if err != nil {
				return err
			}
			if k := len(sev.Checks) - 1; k >= 0 && sev.Checks[k].ID == f.ID {
				sev.Checks[k].Findings = append(sev.Checks[k].Findings, hf)
				continue
			}
			sev.Checks = append(sev.Checks, htmlCheck{ID: f.ID, Anchor: s.String() + "-" + f.ID, Findings: []htmlFinding{hf}})
		}
		if len(sev.Checks) > 0 {
			p.Severities = append(p.Severities, sev)
		}
	}
	for _, m := range NotRead(r.Info) {
		p.NotRead = append(p.NotRead, output.Text(m))
	}
	for _, n := range r.NotRun {
		p.NotRun = append(p.NotRun, htmlNotRun{n.ID, output.Text(firstLine(n.Reason))})
	}
	for _, a := range r.Accepted {
		p.Accepted = append(p.Accepted, htmlAccepted{Severity: a.Severity.String(), ID: a.ID, Title: output.Text(oneLine(a.Title)),
			By: output.Text(strings.Join(a.AcceptedBy, "; ")), Reasons: output.Lines(strings.Join(a.Reasons, "\n"))})
	}
	if err := htmlTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func toHTMLFinding(f check.Finding) (htmlFinding, error) {
	hf := htmlFinding{
		Title:       output.Text(oneLine(f.Title)),
		Message:     output.Lines(f.Message),
		Remediation: output.Text(oneLine(f.Remediation)),
	}
	for i, o := range f.Objects {
		if i == maxObjects {
			hf.MoreObjects = len(f.Objects) - maxObjects
			break
		}
		hf.Objects = append(hf.Objects, output.Text(objectRef(o)))
	}
	if len(f.Evidence) > 0 {
		ev, err := json.MarshalIndent(f.Evidence, "", "  ")
		if err != nil {
			return hf, fmt.Errorf("write html: evidence of %s: %w", f.ID, err)
		}
		hf.Evidence = output.Lines(string(ev))
	}
	for _, id := range f.Incidents {
		in, ok := incident.Lookup(id)
		if !ok {
			hf.Incidents = append(hf.Incidents, htmlIncident{ID: output.Text(id)})
			continue
		}
		hf.Incidents = append(hf.Incidents, htmlIncident{ID: in.ID, Title: in.Title, Org: in.Org, URL: in.URL, Year: in.Year})
	}
	return hf, nil
}
