package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/lab/scenario"
)

// TestCNIHeadroomAndWebhookFanOut: through a real API server, cni-headroom
// finds scenario 001-cni-at-limits' Typha OOM-killed at its limits with the
// load it carries, and leaves the well-sized Cilium operator next to it
// alone; webhook-delete-fanout finds scenario 004-webhook-fanout's
// node-group webhook and the grants that let its backend list cluster-wide.
func TestCNIHeadroomAndWebhookFanOut(t *testing.T) {
	res := scanJSON(t)
	for _, n := range res.NotRun {
		if n.ID == "cni-headroom" || n.ID == "webhook-delete-fanout" {
			t.Errorf("check %s did not run: %s", n.ID, n.Reason)
		}
	}
	tests := []struct {
		id, first string
		sev       check.Severity
		contains  []string // in the title, message or evidence
	}{
		{"cni-headroom", "Deployment " + scenario.CNINamespace + "/calico-typha", check.High,
			[]string{"3 of its 3 pods had container(s) calico-typha OOM-killed", "cpu 200m, memory 128Mi", "networkPolicies:"}},
		{"webhook-delete-fanout", "ValidatingWebhookConfiguration nodegroup-deletion-protection", check.Medium,
			[]string{"nodegroups.nodegroups.example.com", scenario.FanOutNamespace + "/nodegroup-controller", "ClusterRole nodegroup-controller"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f := mustFind(t, res, tt.id, tt.first)
			if f.Severity != tt.sev {
				t.Errorf("severity %s, want %s: %s", f.Severity, tt.sev, f.Title)
			}
			all := fmt.Sprintf("%s %s %v", f.Title, f.Message, f.Evidence)
			for _, c := range tt.contains {
				if !strings.Contains(all, c) {
					t.Errorf("%q not in finding: %s", c, all)
				}
			}
		})
	}
	// A well-sized CNI component stays quiet.
	for _, f := range findingFor(res, "cni-headroom", "Deployment "+scenario.CNINamespace+"/cilium-operator") {
		t.Errorf("well-sized cilium-operator reported: %s", f.Title)
	}
}

// TestCNIHeadroomAgainstBaseline: a snapshot saved now is the baseline; 25
// NetworkPolicies created after it are load the CNI's unchanged limits were
// not set for. Typha, OOM-killed too, is critical; the Cilium operator,
// which was quiet without a baseline, is high: its limits stayed the same
// while the policies grew.
func TestCNIHeadroomAgainstBaseline(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "baseline.json.gz")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, base); code == cli.ExitError {
		t.Fatalf("snapshot save: exit %d: %s", code, stderr)
	}
	const ns = "cni-growth-e2e"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Deleting the namespace would leave it Terminating behind scenario
	// 004's APIService and change other tests' findings; empty it instead.
	t.Cleanup(func() {
		_ = cluster.Client.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	for i := range 25 {
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("run-%02d", i)}}
		if _, err := cluster.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res := scanJSON(t, "--only", "cni-headroom", "--baseline", base,
		"--param", "cni-headroom.min-increase=20", "--param", "cni-headroom.min-ratio=0")
	for _, tt := range []struct {
		first string
		sev   check.Severity
	}{
		{"Deployment " + scenario.CNINamespace + "/calico-typha", check.Critical},
		{"Deployment " + scenario.CNINamespace + "/cilium-operator", check.High},
	} {
		f := mustFind(t, res, "cni-headroom", tt.first)
		if f.Severity != tt.sev || f.Evidence["limitsUnchanged"] != true ||
			f.Evidence["policiesNow"].(float64)-f.Evidence["policiesBefore"].(float64) != 25 {
			t.Errorf("%s: %s %s, evidence %v; want %s with 25 more policies under unchanged limits", tt.first, f.Severity, f.Title, f.Evidence, tt.sev)
		}
	}
}
