package preflight

import (
	"bytes"
	"testing"

	"github.com/premortem/premortem/internal/output/outputtest"
)

// Names, charts and server errors come from the cluster and the manifests:
// a newline must not forge a row, an escape sequence must not rewrite the
// terminal.
func TestWriteTableEscapesClusterData(t *testing.T) {
	evil := "web\n| forged | row |\x1b[2J\x1b]0;owned\x07"
	r := sampleReport()
	r.Release.Name, r.Release.Chart, r.Release.Record = evil, evil, evil
	for i := range r.Deletions {
		d := &r.Deletions[i]
		d.Name, d.Summary = evil, evil
		d.Notes = append(d.Notes, evil)
		for j := range d.Contents {
			d.Contents[j].Kind = evil
		}
	}
	r.ChartReleases.Chart, r.ChartReleases.Namespace = evil, evil
	r.ChartReleases.PerRelease[0].Kind, r.Creations[0].Kind = evil, evil
	r.Warnings = append(r.Warnings, evil)
	r.Incomplete = append(r.Incomplete, evil)
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	outputtest.CheckEscaped(t, "table", out, "| forged")
}
