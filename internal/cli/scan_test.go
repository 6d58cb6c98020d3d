package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/golden"
)

// TestScanGolden runs scan and snapshot on snapshot files and compares exit
// code, stdout and stderr with testdata/scan/*.golden. lab.json.gz is a
// `snapshot save` of the lab with every incident scenario applied
// (regenerate: PREMORTEM_SAVE_LAB_SNAPSHOT=$PWD/internal/cli/testdata/scan/lab.json.gz
// go test ./test/e2e -run TestScanOfSavedSnapshotEqualsLiveScan).
func TestScanGolden(t *testing.T) {
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "unreachable.kubeconfig")
	// Port 1 on loopback: nothing listens there, the dial is refused at once.
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const lab = "testdata/scan/lab.json.gz"
	tests := []struct {
		name string
		args []string
	}{
		{"lab.table", []string{"scan", "--snapshot", lab}},
		{"lab.json", []string{"scan", "--snapshot", lab, "-o", "json"}},
		{"lab.markdown", []string{"scan", "--snapshot", lab, "-o", "markdown"}},
		{"lab-fail-on-high", []string{"scan", "--snapshot", lab, "--fail-on", "high", "--skip", "apiservice-unavailable,system-daemonset-unready"}},
		{"lab-fail-on-critical-not-reached", []string{"scan", "--snapshot", lab, "--fail-on", "critical", "--only", "typha-replicas"}},
		{"lab-only-nodes", []string{"scan", "--snapshot", lab, "--only", "node-not-ready,node-version-drift"}},
		{"lab-param", []string{"scan", "--snapshot", lab, "--only", "networkpolicy-sprawl", "--param", "networkpolicy-sprawl.max-per-namespace=1000", "--param", "networkpolicy-sprawl.max-releases=1000"}},
		{"bad-param-name", []string{"scan", "--snapshot", lab, "--only", "networkpolicy-sprawl", "--param", "networkpolicy-sprawl.per-namespace=1000"}},
		{"lab-baseline-itself", []string{"scan", "--snapshot", lab, "--baseline", lab, "--only", "object-growth"}},
		{"kubectl-dump-partial", []string{"scan", "--snapshot", "../kube/testdata/list.yaml,../kube/testdata/multi.yaml"}},
		{"bad-file", []string{"scan", "--snapshot", "../kube/testdata/bad.json", "--only", "namespace-stuck-terminating"}},
		{"bad-output", []string{"scan", "--snapshot", lab, "-o", "xml"}},
		{"bad-fail-on", []string{"scan", "--snapshot", lab, "--fail-on", "severe"}},
		{"bad-only", []string{"scan", "--snapshot", lab, "--only", "no-such-check"}},
		{"bad-param", []string{"scan", "--snapshot", lab, "--param", "typha-replicas"}},
		{"missing-snapshot", []string{"scan", "--snapshot", "testdata/scan/missing.json"}},
		{"unreachable", []string{"scan", "--kubeconfig", unreachable}},
		{"save-unreachable", []string{"snapshot", "save", "--kubeconfig", unreachable, filepath.Join(dir, "x.json")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("$ premortem %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tt.args, " "), code, out.String(), errOut.String())
			got = strings.ReplaceAll(got, dir, "TMP")
			golden.Check(t, filepath.Join("testdata", "scan", tt.name+".golden"), []byte(got))
		})
	}
}
