package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/report"
)

// Every verb refuses an unknown -o when flags are parsed, before it reads
// anything, with one message.
func TestOutputFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, report.Formats.String()},
		{[]string{"checks", "list"}, report.CatalogFormats.String()},
		{[]string{"audit", "x.log"}, audit.Formats.String()},
		{[]string{"refs", "example.org"}, "table, wide or json"},
		{[]string{"restart"}, "table, wide or json"},
		{[]string{"preflight", "helm", "r"}, "table, wide or json"},
		{[]string{"preflight", "apply"}, "table, wide or json"},
	} {
		var out, errOut bytes.Buffer
		args := append(append([]string{}, tc.args...), "--kubeconfig", "/nonexistent", "-o", "yaml")
		if tc.args[0] == "audit" || tc.args[0] == "checks" {
			args = append(append([]string{}, tc.args...), "-o", "yaml")
		}
		code := Run(context.Background(), args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		want := "premortem: --output \"yaml\": want " + tc.want + "\n"
		if code != ExitError || errOut.String() != want || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", tc.args, code, errOut.String(), out.String(), want)
		}
	}
}
