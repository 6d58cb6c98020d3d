package cli

import (
	"bytes"
	"context"
	"testing"
)

// Every verb refuses an unknown -o when flags are parsed, before it reads
// anything, with one message.
func TestOutputFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "table, json or markdown"},
		{[]string{"checks", "list"}, "table, json or markdown"},
		{[]string{"audit", "x.log"}, "table, json or html"},
		{[]string{"refs", "example.org"}, "table or json"},
		{[]string{"restart"}, "table or json"},
		{[]string{"preflight", "helm", "r"}, "table or json"},
		{[]string{"preflight", "apply"}, "table or json"},
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
