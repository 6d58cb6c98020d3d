package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/lab/scenario"
)

// TestRolloutChecks: each rollout check finds its scenario's objects
// (220, 223, 227, 228, 232) through a real API server, at the expected severity,
// and the scan reads each kind they need with one paginated LIST chain.
func TestRolloutChecks(t *testing.T) {
	before := auditSize(t)
	res := scanJSON(t, "--chunk-size", "10")
	chains := premortemLists(t, before)
	for _, kind := range []string{"pods.", "nodes.", "deployments.apps", "statefulsets.apps", "daemonsets.apps",
		"priorityclasses.scheduling.k8s.io"} {
		if chains[kind] == nil {
			t.Errorf("%s not listed", kind)
		}
	}
	for _, n := range res.NotRun {
		if strings.HasPrefix(n.ID, "system-workload-") || n.ID == "network-daemonset-taint-gap" ||
			n.ID == "critical-workload-outranked" || strings.HasPrefix(n.ID, "critical-deployment-") ||
			n.ID == "critical-image-pull-always" {
			t.Errorf("check %s did not run: %s", n.ID, n.Reason)
		}
	}
	tests := []struct {
		id, first string
		sev       check.Severity
		contains  string // in the title, message or evidence
	}{
		{"system-workload-crashlooping", "Deployment rol-calico/calico-kube-controllers", check.Critical, "Error, exit code 1"},
		{"network-daemonset-taint-gap", "DaemonSet rol-cni/cilium", check.High, scenario.RolloutTaintedNode},
		{"critical-workload-outranked", "Deployment rol-priority/antrea-controller", check.Medium, "rol-batch-high"},
		{"critical-deployment-recreate", "Deployment rol-recreate/kube-ovn-controller", check.Medium, "may stop all 2 replicas"},
		{"critical-image-pull-always", "Deployment rol-images/calico-apiserver", check.Medium, "docker.io"},
	}
	for _, tt := range tests {
		t.Run(tt.id+" "+tt.first, func(t *testing.T) {
			f := mustFind(t, res, tt.id, tt.first)
			if f.Severity != tt.sev {
				t.Errorf("severity %s, want %s: %s", f.Severity, tt.sev, f.Title)
			}
			if all := fmt.Sprintf("%s %s %v", f.Title, f.Message, f.Evidence); !strings.Contains(all, tt.contains) {
				t.Errorf("%q not in finding: %s", tt.contains, all)
			}
		})
	}
}
