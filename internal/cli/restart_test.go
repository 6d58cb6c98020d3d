package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRestartFlagErrors: bad flags fail with exit 2 and say why, before any
// cluster is contacted (the kubeconfig points nowhere).
func TestRestartFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "yaml"}, `--output "yaml": want table, wide or json`},
		{[]string{"--kind", "cronjob"}, "unknown kind"},
		{[]string{"--force", "deployment/web"}, "kind/namespace/name"},
		{[]string{"--concurrency", "0"}, "--concurrency 0"},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"-l", "app in (a"}, "-l"},
		{[]string{"-A", "-n", "shop"}, "-n and -A"},
		{[]string{"extra"}, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"restart", "--kubeconfig", "/nonexistent/kubeconfig"}, tc.args...)
			code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitError || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), ExitError, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}
