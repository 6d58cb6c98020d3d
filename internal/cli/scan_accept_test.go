package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/report"
)

// TestScanAccept: --accept takes a finding out of the findings and of
// --fail-on, and lists it in -o json and, with -v, under the table.
func TestScanAccept(t *testing.T) {
	const lab = "testdata/scan/lab.json.gz"
	file := filepath.Join(t.TempDir(), "accept.yaml")
	if err := os.WriteFile(file, []byte(`accept:
- check: typha-replicas
  object: deployment.apps/kube-system/calico-typha
  reason: reviewed in the lab
`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}
	base := []string{"scan", "--snapshot", lab, "--only", "typha-replicas", "--fail-on", "high"}
	if code, _, _ := run(base...); code != ExitFindings {
		t.Fatalf("without --accept: exit %d, want %d (the lab's typha finding)", code, ExitFindings)
	}

	code, out, stderr := run(append(base, "--accept", file, "-o", "json")...)
	// The lab snapshot records a failed discovery: incomplete, not 1.
	if code != ExitIncomplete {
		t.Fatalf("with --accept: exit %d, want %d: %s", code, ExitIncomplete, stderr)
	}
	var res report.Output
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || len(res.Accepted) != 1 {
		t.Fatalf("findings %d, accepted %d; want 0 and 1", len(res.Findings), len(res.Accepted))
	}
	a := res.Accepted[0]
	if a.ID != "typha-replicas" || len(a.Reasons) != 1 || a.Reasons[0] != "reviewed in the lab" || a.AcceptedBy[0] != "file "+file {
		t.Errorf("accepted = %+v", a)
	}
	if !strings.Contains(res.Summary.Text, "Accepted, not counted: 1 finding") {
		t.Errorf("summary %q does not count the accepted finding", res.Summary.Text)
	}

	_, table, _ := run(append(base, "--accept", file)...)
	if strings.Contains(table, "ACCEPTED") || !strings.Contains(table, "Accepted, not counted: 1 finding") {
		t.Errorf("table without -v:\n%s", table)
	}
	_, table, _ = run(append(base, "--accept", file, "-v")...)
	if !strings.Contains(table, "ACCEPTED") || !strings.Contains(table, "Deployment kube-system/calico-typha") {
		t.Errorf("table with -v lists no accepted finding:\n%s", table)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("accept:\n- {check: no-such-check, object: ns/x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(append(base, "--accept", bad)...); code != ExitError || !strings.Contains(stderr, `unknown check "no-such-check"`) {
		t.Errorf("bad accept file: exit %d, %s", code, stderr)
	}
}
