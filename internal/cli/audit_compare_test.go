package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/golden"
)

// TestAuditCompareGolden compares GenerateUpgrade's two hours (whose
// difference is known: internal/audit's TestCompareKnownAnswer) as two log
// sets and as one split at a time, through the real flag parsing.
func TestAuditCompareGolden(t *testing.T) {
	const (
		before = "../audit/testdata/upgrade-before.log"
		after  = "../audit/testdata/upgrade-after.log"
	)
	tests := []struct {
		name string
		args []string
	}{
		{"two-sets.table", []string{"audit", after, "--compare", before}},
		{"two-sets.json", []string{"audit", after, "--compare", before, "-o", "json", "--top", "3"}},
		{"split.table", []string{"audit", before, after, "--compare-at", "2024-05-25T00:00:00Z", "--top", "4"}},
		{"filtered.table", []string{"audit", after, "--compare", before, "--verb", "list"}},
		{"html", []string{"audit", after, "--compare", before, "-o", "html"}},
		{"both", []string{"audit", after, "--compare", before, "--compare-at", "2024-05-25T00:00:00Z"}},
		{"stdin-split", []string{"audit", "-", "--compare-at", "2024-05-25T00:00:00Z"}},
		{"split-outside-window", []string{"audit", after, "--since", "2024-05-28T00:00:00Z", "--compare-at", "2024-05-25T00:00:00Z"}},
		{"deleted", []string{"audit", after, "--compare", before, "--deleted", "namespace/team-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
			golden.Check(t, "testdata/audit-compare/"+tt.name+".golden", []byte(got))
		})
	}
}
