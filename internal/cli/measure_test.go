package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMeasureFlags: bad flags end before any request, with exit 2 and the
// reason.
func TestMeasureFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"measure"}, "give a command after -- or a --duration"},
		{[]string{"measure", "helmfile", "apply"}, "the command to measure goes after --"},
		{[]string{"measure", "--duration", "1m", "--", "helmfile"}, "--duration and a command exclude each other"},
		{[]string{"measure", "--interval", "1ms", "--duration", "1m"}, "--interval 1ms: want at least 10ms"},
		{[]string{"measure", "--settle", "-1s", "--", "true"}, "--settle -1s"},
		{[]string{"measure", "-o", "yaml", "--duration", "1m"}, `--output "yaml": want table, wide, json or html`},
		{[]string{"measure", "--duration", "1m", "--apiserver", "ftp://x", "--server", "https://127.0.0.1:1"}, `--apiserver "ftp://x": want https://HOST[:PORT]`},
		{[]string{"measure", "--duration", "1m", "--apiserver", "https://10.0.0.1:6443/path", "--server", "https://127.0.0.1:1"}, "want https://HOST[:PORT]"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tc.args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
			if code != ExitError || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), ExitError, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out.String())
			}
		})
	}
}
