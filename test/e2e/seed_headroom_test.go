package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
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
