package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/report"
)

// scanJSON runs a live scan of the lab with extra arguments and decodes -o json.
func scanJSON(t *testing.T, args ...string) report.Output {
	t.Helper()
	args = append([]string{"scan", "--kubeconfig", cluster.Kubeconfig, "-o", "json"}, args...)
	code, out, stderr := premortemCLI(t, args...)
	if code == cli.ExitError {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	var res report.Output
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("scan -o json: %v\n%s", err, out)
	}
	return res
}

// findingFor returns the findings of check id whose first object is first.
func findingFor(res report.Output, id, first string) []check.Finding {
	var out []check.Finding
	for _, f := range res.Findings {
		if f.ID == id && len(f.Objects) > 0 && f.Objects[0].String() == first {
			out = append(out, f)
		}
	}
	return out
}

// mustFind returns the first finding of check id whose first object is
// first; without one, the test fails listing the check's findings.
func mustFind(t *testing.T, res report.Output, id, first string) check.Finding {
	t.Helper()
	fs := findingFor(res, id, first)
	if len(fs) == 0 {
		var got []string
		for _, f := range res.Findings {
			if f.ID == id {
				got = append(got, fmt.Sprintf("%s %v: %s", f.Severity, f.Objects[:min(len(f.Objects), 1)], f.Title))
			}
		}
		t.Fatalf("no %s finding on %s; its findings: %v", id, first, got)
	}
	return fs[0]
}

func hasObject(f check.Finding, s string) bool {
	for _, o := range f.Objects {
		if o.String() == s {
			return true
		}
	}
	return false
}

// TestChecksFireOnScenarios: every check finds its incident's latent
// condition in the lab, reading it from a real API server. Thresholds that
// need big clusters or long waits are lowered with --param.
func TestChecksFireOnScenarios(t *testing.T) {
	res := scanJSON(t, "--param", "object-count-thresholds.configmaps-per-namespace=100")
	for _, n := range res.NotRun {
		if n.ID != "object-growth" {
			t.Errorf("check %s did not run: %s", n.ID, n.Reason)
		}
	}
	tests := []struct {
		id, first string
		minSev    check.Severity
		verify    func(t *testing.T, f check.Finding)
	}{
		// 004: metrics-server down holds back team-a's deletion.
		{"apiservice-unavailable", "APIService v1beta1.metrics.k8s.io", check.Critical, func(t *testing.T, f check.Finding) {
			if !hasObject(f, "Namespace team-a") || !strings.Contains(f.Message, "WILL be deleted") {
				t.Errorf("team-a not named as held back: %+v", f)
			}
		}},
		// 004: nodes on another kernel and runtime; lab-node-7's runtime down.
		{"node-version-drift", "Node lab-node-6", check.Medium, nil},
		{"node-not-ready", "Node lab-node-7", check.High, func(t *testing.T, f check.Finding) {
			// The scenario writes "container runtime is down"; once the
			// node-lifecycle controller notices no heartbeat it replaces it
			// with Unknown. Expect the cause the node shows now.
			node, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), "lab-node-7", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := "other"
			for _, c := range node.Status.Conditions {
				switch {
				case c.Type != corev1.NodeReady:
				case strings.Contains(c.Message, "container runtime is down"):
					want = "runtime"
				case c.Status == corev1.ConditionUnknown:
					want = "kubelet"
				}
			}
			if f.Evidence["cause"] != want {
				t.Errorf("cause = %v, want %s (node conditions %+v)", f.Evidence["cause"], want, node.Status.Conditions)
			}
		}},
		// 003: one Typha replica; metrics-server alone in kube-system.
		{"typha-replicas", "Deployment kube-system/calico-typha", check.High, func(t *testing.T, f check.Finding) {
			if f.Evidence["imagePresentOnNodes"] != float64(1) {
				t.Errorf("typha image on %v nodes, want 1", f.Evidence["imagePresentOnNodes"])
			}
		}},
		{"critical-single-replica", "Deployment kube-system/metrics-server", check.Medium, nil},
		// 001: a release per run, Jobs without TTL, NetworkPolicies per release, calico-node crash-looping.
		{"helm-release-per-run", "Namespace mw-script", check.High, func(t *testing.T, f check.Finding) {
			if f.Evidence["chart"] != "mwscript" {
				t.Errorf("chart = %v, want mwscript", f.Evidence["chart"])
			}
		}},
		{"jobs-without-ttl", "Namespace mw-script", check.Medium, nil},
		{"networkpolicy-sprawl", "Namespace mw-script", check.High, nil},
		{"system-daemonset-unready", "DaemonSet kube-system/calico-node", check.High, func(t *testing.T, f check.Finding) {
			if f.Evidence["crashLooping"] == float64(0) {
				t.Errorf("no crash-looping pod in evidence: %v", f.Evidence)
			}
		}},
		{"object-count-thresholds", "Namespace mw-script", check.Medium, nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f := mustFind(t, res, tt.id, tt.first)
			if f.Severity < tt.minSev {
				t.Errorf("severity %s, want at least %s", f.Severity, tt.minSev)
			}
			if tt.verify != nil {
				tt.verify(t, f)
			}
		})
	}
	// The well-run neighbour of scenario 003 stays quiet.
	if fs := findingFor(res, "critical-single-replica", "Deployment kube-system/coredns"); len(fs) > 0 {
		t.Errorf("coredns (two replicas, a PDB) reported: %s", fs[0].Title)
	}
}

// TestObjectGrowthAgainstBaseline: a snapshot saved now is the baseline; 30
// ConfigMaps created after it are growth.
func TestObjectGrowthAgainstBaseline(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "baseline.json.gz")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, base); code == cli.ExitError {
		t.Fatalf("snapshot save: exit %d: %s", code, stderr)
	}
	const ns = "growth-e2e"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Deleting the namespace would leave it Terminating behind scenario
	// 004's APIService and change other tests' findings; empty it instead.
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	for i := range 30 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("run-%02d", i)}}
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res := scanJSON(t, "--only", "object-growth", "--baseline", base, "--param", "object-growth.min-increase=20")
	if len(res.Ran) != 1 {
		t.Fatalf("object-growth did not run: %+v", res.NotRun)
	}
	fs := findingFor(res, "object-growth", "Namespace "+ns)
	if len(fs) == 0 {
		t.Fatalf("no growth finding for %s: %+v", ns, res.Findings)
	}
	if fs[0].Evidence["now"] != float64(31) && fs[0].Evidence["now"] != float64(30) {
		// 30 ConfigMaps, plus kube-root-ca.crt when the controller-manager publishes it.
		t.Errorf("evidence %v, want 30 or 31 ConfigMaps now", fs[0].Evidence)
	}
}

// TestNamespaceStuckTerminating: a namespace whose content carries a
// finalizer nobody removes stays Terminating, and the check says why (the
// namespace controller's FinalizersRemaining condition), even though
// scenario 004's unavailable APIService holds it back too.
func TestNamespaceStuckTerminating(t *testing.T) {
	ctx := context.Background()
	const ns, hold = "stuck-e2e", "premortem.dev/e2e-hold"
	client := cluster.Client
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	condition := func(typ corev1.NamespaceConditionType) corev1.ConditionStatus {
		n, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		for _, c := range n.Status.Conditions {
			if c.Type == typ {
				return c.Status
			}
		}
		return ""
	}
	// Release the ConfigMap and wait for the controller to record it, so the
	// namespace (still held by the APIService) stops changing before the
	// next test reads the cluster.
	t.Cleanup(func() {
		held, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
		if err == nil {
			held.Finalizers = nil
			_, _ = client.CoreV1().ConfigMaps(ns).Update(ctx, held, metav1.UpdateOptions{})
		}
		waitFor(t, "stuck-e2e's content and finalizer conditions to clear", func() bool {
			return condition(corev1.NamespaceFinalizersRemaining) != corev1.ConditionTrue &&
				condition(corev1.NamespaceContentRemaining) != corev1.ConditionTrue
		})
	})
	waitFor(t, "the namespace controller to report the remaining finalizer", func() bool {
		return condition(corev1.NamespaceFinalizersRemaining) == corev1.ConditionTrue
	})
	res := scanJSON(t, "--only", "namespace-stuck-terminating", "--param", "namespace-stuck-terminating.min-age=0s")
	fs := findingFor(res, "namespace-stuck-terminating", "Namespace "+ns)
	if len(fs) != 1 {
		t.Fatalf("want one finding for %s, got %+v", ns, res.Findings)
	}
	if !strings.Contains(fs[0].Message, hold) || !strings.Contains(fs[0].Title, "NamespaceFinalizersRemaining") {
		t.Errorf("finding does not say why: %s | %s", fs[0].Title, fs[0].Message)
	}
	// team-a is held only by the unavailable APIService: that check's finding, not this one's.
	if len(findingFor(res, "namespace-stuck-terminating", "Namespace team-a")) != 0 {
		t.Error("team-a reported by namespace-stuck-terminating")
	}
}
