package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/golden"
)

// TestRefsGolden runs refs on a kubectl dump and compares exit code, stdout
// and stderr with testdata/refs/*.golden (-update rewrites them).
func TestRefsGolden(t *testing.T) {
	const dump = "testdata/refs/dump.yaml"
	tests := []struct {
		name string
		args []string
	}{
		{"found.table", []string{"refs", "--snapshot", dump, "K8S-MASTER.tools.example.org"}},
		{"found.json", []string{"refs", "--snapshot", dump, "-o", "json", "https://k8s-master.tools.example.org:6443/"}},
		{"absent", []string{"refs", "--snapshot", dump, "master.tools.example.org", "10.64.0.117"}},
		{"bad-argument", []string{"refs", "--snapshot", dump, "not a host"}},
		{"bad-output", []string{"refs", "--snapshot", dump, "-o", "yaml", "k8s-master.tools.example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
			if strings.Contains(got, "cli-golden-secret-never-print-me") {
				t.Fatalf("output contains the Secret's value:\n%s", got)
			}
			golden.Check(t, "testdata/refs/"+tt.name+".golden", []byte(got))
		})
	}
}
