package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// Inputs a script can get wrong are refused, never turned into something
// else (an empty --snapshot into a live scan of the current context).
func TestSnapshotFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"scan", "--snapshot", ""}, `--snapshot "": want a file or directory path`},
		{[]string{"scan", "--snapshot", "a.json,"}, `--snapshot "a.json,": want a file or directory path`},
		{[]string{"refs", "--snapshot", "", "example.org"}, `--snapshot "": want a file or directory path`},
		{[]string{"refs", "--snapshot", "testdata/refs/dump.yaml", "-n", "shop", "example.org"}, "-n does not apply to --snapshot"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), tc.args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		if code != ExitError || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.msg)
		}
	}
}

// -n narrows a snapshot as it narrows a live read: findings about objects
// of other namespaces go, findings about cluster-scoped objects stay.
func TestScanSnapshotNamespace(t *testing.T) {
	scan := func(args ...string) []map[string]any {
		t.Helper()
		var out, errOut bytes.Buffer
		Run(context.Background(), append([]string{"scan", "--snapshot", "testdata/scan/lab.json.gz", "-o", "json"}, args...),
			Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		var res struct {
			Findings []map[string]any `json:"findings"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return res.Findings
	}
	namespaces := func(fs []map[string]any) map[string]int {
		ns := map[string]int{}
		for _, f := range fs {
			// It names the API server's Service (default/kubernetes)
			// whatever was read, live or not.
			if f["id"] == "apiserver-endpoints-mismatch" {
				continue
			}
			for _, o := range f["objects"].([]any) {
				ns[o.(map[string]any)["namespace"].(string)]++
			}
		}
		return ns
	}
	all := namespaces(scan())
	if len(all) < 3 {
		t.Fatalf("the lab snapshot should have findings in several namespaces: %v", all)
	}
	narrowed := namespaces(scan("-n", "kube-system"))
	for ns := range narrowed {
		if ns != "" && ns != "kube-system" {
			t.Errorf("-n kube-system kept a finding about namespace %q", ns)
		}
	}
	if narrowed["kube-system"] == 0 || narrowed[""] == 0 {
		t.Errorf("-n kube-system lost the namespace's or the cluster-scoped findings: %v (all: %v)", narrowed, all)
	}
}
