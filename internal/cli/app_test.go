package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// client-go's klog lines go through premortem's logger: shown with -v,
// nothing without it.
func TestKlogThroughLogger(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"version"}, false},
		{[]string{"version", "-v"}, true},
	} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), tc.args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}); code != ExitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut.String())
		}
		klog.ErrorS(nil, "reflector failed", "resource", "pods")
		klog.Flush()
		if got := strings.Contains(errOut.String(), "reflector failed"); got != tc.want {
			t.Errorf("%v: klog line on premortem's stderr = %v, want %v (stderr %q)", tc.args, got, tc.want, errOut.String())
		}
	}
	klog.ClearLogger()
}
