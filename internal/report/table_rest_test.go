package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// TestTableSummarisesBelowHigh: past maxRows findings, every critical and
// high finding keeps its row and the rest are summarised by check, so the
// table fits one screen; with fewer, every finding is a row.
func TestTableSummarisesBelowHigh(t *testing.T) {
	finding := func(id string, sev check.Severity, i int) check.Finding {
		return check.Finding{ID: id, Severity: sev, Title: fmt.Sprintf("%s finding %d", id, i),
			Objects: []check.Object{{Kind: "Node", Name: fmt.Sprintf("node-%d", i)}}}
	}
	tests := []struct {
		name          string
		high, medium  int
		rows          int    // finding rows in the table
		summary, miss string // in the output, not in it
	}{
		{name: "few", high: 5, medium: 10, rows: 15, miss: "below high"},
		{name: "many", high: 20, medium: 20, rows: 20, summary: "20 findings below high, by check", miss: "medium-check finding"},
		{name: "many high", high: 40, medium: 1, rows: 40, summary: "MEDIUM   1: medium-check\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &check.Result{Ran: []string{"high-check", "medium-check"}}
			for i := range tt.high {
				r.Findings = append(r.Findings, finding("high-check", check.High, i))
			}
			for i := range tt.medium {
				r.Findings = append(r.Findings, finding("medium-check", check.Medium, i))
			}
			var b bytes.Buffer
			if err := writeTable(&b, r); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Count(out, "-check finding "); got != tt.rows {
				t.Errorf("%d finding rows, want %d:\n%s", got, tt.rows, out)
			}
			if tt.summary != "" && !strings.Contains(out, tt.summary) {
				t.Errorf("no %q in:\n%s", tt.summary, out)
			}
			if tt.miss != "" && strings.Contains(out, tt.miss) {
				t.Errorf("%q in:\n%s", tt.miss, out)
			}
			if !strings.Contains(out, Summary(r)) {
				t.Errorf("summary line missing:\n%s", out)
			}
		})
	}
}
