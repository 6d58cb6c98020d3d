package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/refs"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// The token in scenario 002's Secret: no output of premortem may contain it.
const secretToken = "lab-secret-token-value-never-print-me"

const removedName = "k8s-master.tools.example.org"

// toolscheckerPods returns the names of the toolschecker Deployment's pods,
// waiting for the controllers to create one.
func toolscheckerPods(t *testing.T) []string {
	t.Helper()
	var names []string
	waitFor(t, "a toolschecker pod", func() bool {
		pods, err := cluster.Client.CoreV1().Pods("tool-checker").List(context.Background(), metav1.ListOptions{LabelSelector: "app=toolschecker"})
		if err != nil {
			return false
		}
		names = names[:0]
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return len(names) > 0
	})
	return names
}

// TestRefsRemovedName is incident 002 in the lab: before removing the
// master's DNS name, refs finds the ConfigMap kubeconfig, the Secret-held
// kubeconfig and the env var that still use it, names the pods that
// consume them, and never prints the Secret's value.
func TestRefsRemovedName(t *testing.T) {
	pods := toolscheckerPods(t)
	counts := objectCounts(t, secrets, configMaps)
	offset := auditSize(t)
	start := time.Now()
	// Pages of 5: every kind refs searches is read in several.
	code, out, stderr := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "--chunk-size", "5", "-v", removedName)
	elapsed := time.Since(start)
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d (references found)\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFindings, out, stderr)
	}
	t.Logf("refs output:\n%s", out)
	// The read is one watch-cache LIST chain per kind (premortemLists
	// fails otherwise), Secrets included, in pages.
	chains := premortemLists(t, offset)
	if chains["secrets."] == nil || chains["pods."] == nil {
		t.Errorf("LIST chains %v: want secrets and pods", chains)
	}
	for k, n := range counts {
		auditlog.Paged(t, chains, k.Resource+"."+k.Group, n)
	}
	n := 0
	for _, c := range chains {
		n += c.Pages
	}
	t.Logf("refs: %s, %d kinds, %d LIST requests", elapsed.Round(time.Millisecond), len(chains), n)
	for _, want := range []string{
		"ConfigMap tool-checker/checker-kubeconfig", `kubeconfig cluster "toolforge": server https://k8s-master.tools.example.org:6443`,
		"Secret tool-checker/checker-credentials", "data[kubeconfig]",
		"Deployment tool-checker/toolschecker", "spec.template.spec.containers[checker].env[KUBE_MASTER]",
		"[volume kubeconfig]", "[volume credentials]", pods[0],
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q", want)
		}
	}
	code, js, stderrJSON := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "-o", "json", "-vv", removedName)
	if code != cli.ExitFindings {
		t.Fatalf("json: exit %d\n%s", code, stderrJSON)
	}
	for name, s := range map[string]string{"table stdout": out, "table stderr": stderr, "json stdout": js, "json stderr": stderrJSON} {
		if strings.Contains(s, secretToken) {
			t.Errorf("%s contains the Secret's value", name)
		}
	}
	var res refs.Result
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	type key struct{ object, kind string }
	got := map[key]refs.Reference{}
	for _, r := range res.References {
		got[key{r.Object.String(), r.Kind}] = r
	}
	for _, k := range []key{
		{"ConfigMap tool-checker/checker-kubeconfig", "kubeconfig"},
		{"Secret tool-checker/checker-credentials", "kubeconfig"},
		{"Deployment tool-checker/toolschecker", "env"},
	} {
		r, ok := got[k]
		if !ok {
			t.Errorf("no %s reference in %s; got %v", k.kind, k.object, res.References)
			continue
		}
		if len(r.Consumers) != 1 || r.Consumers[0].Workload.String() != "Deployment tool-checker/toolschecker" ||
			!slices.Contains(r.Consumers[0].Pods, pods[0]) {
			t.Errorf("%s: consumers %+v, want Deployment tool-checker/toolschecker with pod %s", k.object, r.Consumers, pods[0])
		}
	}
	if len(res.NotRead) != 0 {
		t.Errorf("not read: %+v", res.NotRead)
	}
}

// TestRefsAbsentAndExact checks the exit codes that gate a removal and that
// addresses match exactly.
func TestRefsAbsentAndExact(t *testing.T) {
	if code, out, stderr := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "unused-name.tools.example.org"); code != cli.ExitOK {
		t.Errorf("absent name: exit %d, want 0\n%s%s", code, out, stderr)
	}
	// 10.64.0.11 is a prefix of the legacy API server address in scenario
	// 000's config, not a reference to it.
	if code, out, _ := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "10.64.0.11"); code != cli.ExitOK {
		t.Errorf("10.64.0.11: exit %d, want 0\n%s", code, out)
	}
	code, out, _ := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "https://10.64.0.117:6443")
	if code != cli.ExitFindings || !strings.Contains(out, "ConfigMap observability/otel-collector-config") ||
		!strings.Contains(out, "DaemonSet observability/otel-collector [volume config]") {
		t.Errorf("10.64.0.117: exit %d, want the otel ConfigMap and its DaemonSet:\n%s", code, out)
	}
	if code, _, stderr := premortemCLI(t, "refs", "--kubeconfig", cluster.Kubeconfig, "not a host"); code != cli.ExitError {
		t.Errorf("bad argument: exit %d, want %d\n%s", code, cli.ExitError, stderr)
	}
}

// TestRefsSnapshot searches a premortem snapshot file: it holds ConfigMap
// data and workload templates but no Secret data, so the result names the
// kinds it could not search.
func TestRefsSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.json.gz")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, path); code == cli.ExitError {
		t.Fatalf("snapshot save: %s", stderr)
	}
	code, out, _ := premortemCLI(t, "refs", "--snapshot", path, removedName)
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"ConfigMap tool-checker/checker-kubeconfig", "Deployment tool-checker/toolschecker", "NOT SEARCHED: secrets"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secretToken) {
		t.Error("output contains the Secret's value")
	}
	if code, _, _ := premortemCLI(t, "refs", "--snapshot", path, "unused-name.tools.example.org"); code != cli.ExitIncomplete {
		t.Errorf("absent name in a premortem snapshot: exit %d, want %d (Secrets were not searched)", code, cli.ExitIncomplete)
	}
}
