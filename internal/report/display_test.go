package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/output/outputtest"
)

// On a terminal, fitted and colored, cluster data stays escaped: the only
// escape sequences are the severities' colors, and the table is cut after
// escaping, so an escape is never cut in half into a raw ESC.
func TestTerminalTableEscapesClusterData(t *testing.T) {
	r := &check.Result{Ran: []string{"some-check"}}
	for _, sev := range []check.Severity{check.Critical, check.High, check.Medium} {
		r.Findings = append(r.Findings, check.Finding{
			ID: "some-check", Severity: sev, Title: "title " + outputtest.Evil,
			Objects:   []check.Object{{Kind: "Pod", Namespace: "default", Name: outputtest.Evil}},
			Incidents: []string{"001"},
		})
	}
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	for _, d := range []output.Display{
		{Width: 200, Height: 100, Color: true},
		{Width: 60, Height: 100, Color: true},
		{Width: 60, Height: 2, Color: true},
		{Height: 100, Color: true, Full: true},
	} {
		var b bytes.Buffer
		if err := Write(output.WithDisplay(&b, d), "table", r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "\x1b[1;31mCRITICAL\x1b[0m") {
			t.Errorf("%+v: CRITICAL not painted:\n%q", d, out)
		}
		plain := sgr.ReplaceAllString(out, "")
		if d.Width > 0 && d.Width < 100 {
			// Cut cells end in an ellipsis; the escaped text before it is
			// what CheckEscaped looks for, so check the wide run only.
			for i := 0; i < len(plain); i++ {
				if c := plain[i]; (c < 0x20 && c != '\n') || c == 0x7f {
					t.Fatalf("%+v: control byte %#x at %d:\n%q", d, c, i, plain)
				}
			}
			continue
		}
		outputtest.CheckEscaped(t, "terminal table", plain, "| forged")
	}
}

// On a terminal, more findings than its height start with their counts,
// even when every one of them is high and stays a row.
func TestCountsFirstWhenRowsDoNotFit(t *testing.T) {
	for _, tt := range []struct {
		sev          check.Severity
		height, rows int
		first        bool
	}{
		{check.High, 8, 10, true},     // all high: counts first, every row
		{check.Medium, 8, 0, true},    // all medium: counts alone
		{check.Medium, 40, 10, false}, // fits: rows
		{check.Medium, 0, 10, false},  // a pipe: 10 are under 30 rows
	} {
		r := &check.Result{Ran: []string{"a", "b"}}
		for i := range 10 {
			r.Findings = append(r.Findings, check.Finding{ID: []string{"a", "b"}[i%2], Severity: tt.sev, Title: "t",
				Objects: []check.Object{{Kind: "Pod", Namespace: "default", Name: "p"}}})
		}
		var b bytes.Buffer
		if err := Write(output.WithDisplay(&b, output.Display{Width: 100, Height: tt.height}), "table", r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if first := strings.HasPrefix(out, "10 findings (10 "+tt.sev.String()+") by severity and check"); first != tt.first {
			t.Errorf("%s, height %d: counts first %v, want %v:\n%s", tt.sev, tt.height, first, tt.first, out)
		}
		if first := strings.Contains(out, "  "+strings.ToUpper(tt.sev.String())); tt.first && !first {
			t.Errorf("%s, height %d: no line of counts:\n%s", tt.sev, tt.height, out)
		}
		if rows := strings.Count(out, " t\n"); rows != tt.rows {
			t.Errorf("%s, height %d: %d rows, want %d:\n%s", tt.sev, tt.height, rows, tt.rows, out)
		}
	}
}
