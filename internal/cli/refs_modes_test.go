package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/golden"
)

// TestRefsModesGolden runs refs --audit on GenerateUpgrade's logs with the
// nodes and pods of testdata/refs/inside.yaml, and refs --cert on a
// snapshot's recorded certificate (incident 002's), comparing exit code,
// stdout and stderr with testdata/refs/*.golden (-update rewrites them).
func TestRefsModesGolden(t *testing.T) {
	const (
		inside = "testdata/refs/inside.yaml"
		before = "../audit/testdata/upgrade-before.log"
		after  = "../audit/testdata/upgrade-after.log"
		cert   = "testdata/refs/toolforge-snapshot.yaml"
	)
	tests := []struct {
		name string
		args []string
	}{
		{"audit.table", []string{"refs", "--audit", "--snapshot", inside, before, after}},
		{"audit.json", []string{"refs", "--audit", "--snapshot", inside, after, "-o", "json"}},
		{"audit-cidr", []string{"refs", "--audit", "--snapshot", inside, "--cluster-cidr", "192.0.2.0/24,198.51.100.0/24", after}},
		{"audit-capped", []string{"refs", "--audit", "--snapshot", inside, "--max-identities", "1", after}},
		{"audit-bad-cidr", []string{"refs", "--audit", "--snapshot", inside, "--cluster-cidr", "10.0.0.0/33", after}},
		{"audit-namespace", []string{"refs", "--audit", "--snapshot", inside, "-n", "default", after}},
		{"cert.table", []string{"refs", "--cert", "--snapshot", cert, "k8s-master.tools.wmflabs.org", "tools-k8s-master-01.tools.eqiad.wmflabs", "208.80.155.204", "https://tools.wmflabs.org/"}},
		{"cert.json", []string{"refs", "--cert", "--snapshot", cert, "-o", "json", "tools-k8s-master-01.tools.eqiad.wmflabs"}},
		{"cert-covered", []string{"refs", "--cert", "--snapshot", cert, "checker.tools.wmflabs.org"}},
		{"cert-no-certificate", []string{"refs", "--cert", "--snapshot", inside, "checker.tools.wmflabs.org"}},
		{"audit-and-cert", []string{"refs", "--audit", "--cert", after}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
			golden.Check(t, "testdata/refs/"+tt.name+".golden", []byte(got))
		})
	}
}
