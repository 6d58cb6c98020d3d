package cli

import (
	"bytes"
	"context"
	"testing"
)

// The agent refuses bad flags before it connects to anything.
func TestAgentFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "10ms"}, "premortem: --interval 10ms: want at least 1s\n"},
		{[]string{"--param", "nodots"}, "premortem: --param \"nodots\": want CHECK-ID.NAME=VALUE\n"},
		{[]string{"--only", "no-such-check"}, ""},
		{[]string{"--param", "typha-replicas.no-such-param=1"}, ""},
		{[]string{"--listen", "256.0.0.1:99999"}, ""},
	} {
		var out, errOut bytes.Buffer
		// A server that is never reached: the flags fail first.
		args := append([]string{"agent", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}, tc.args...)
		code := Run(context.Background(), args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		if code != ExitError || (tc.want != "" && errOut.String() != tc.want) || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}
