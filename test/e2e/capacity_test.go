package e2e

import (
	"slices"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// TestCapacityChecks: each capacity check finds its scenario's latent
// condition in the lab (scenarios 160-176), reading each kind it needs with
// one paginated LIST chain. Pods are unschedulable only since the scenarios
// ran, so pods-unschedulable's min-age is lowered.
func TestCapacityChecks(t *testing.T) {
	before := auditSize(t)
	res := scanJSON(t, "--chunk-size", "10", "--param", "pods-unschedulable.min-age=0s")
	chains := premortemLists(t, before)
	for _, kind := range []string{"pods.", "nodes.", "deployments.apps", "statefulsets.apps", "daemonsets.apps",
		"poddisruptionbudgets.policy", "horizontalpodautoscalers.autoscaling", "resourcequotas."} {
		if chains[kind] == nil {
			t.Errorf("%s not listed", kind)
		}
	}
	if c := chains["pods."]; c != nil && c.Pages < 2 {
		t.Errorf("pods read in %d page(s) of %d: pagination untested", c.Pages, c.Limit)
	}
	tests := []struct {
		id, first string
		sev       check.Severity
	}{
		{"container-oom-killed", "Deployment cap-ingress/skipper-ingress", check.High},
		{"replicas-on-one-node", "Deployment cap-packed/api", check.Medium},
		{"pdb-blocks-eviction", "PodDisruptionBudget cap-mesh/istiod", check.High},
		{"pdb-blocks-eviction", "PodDisruptionBudget cap-mesh/ingressgateway", check.Low},
		// The lab's metrics API is down (scenario 004): HPAs failing for it
		// are one finding on the APIService.
		{"hpa-cannot-scale", "APIService v1beta1.metrics.k8s.io", check.High},
		{"resourcequota-near-limit", "ResourceQuota cap-quota/namespace-quota", check.High},
		{"rollout-progress-deadline-exceeded", "Deployment cap-quota/allocation-manager", check.Medium},
		{"liveness-probe-hair-trigger", "Deployment cap-probes/backend", check.Medium},
		{"critical-workload-no-priority", "Deployment cap-system/cilium-operator", check.Medium},
		{"pods-unschedulable", "Deployment cap-system/hub", check.Medium},
	}
	for _, tt := range tests {
		t.Run(tt.id+" "+tt.first, func(t *testing.T) {
			f := mustFind(t, res, tt.id, tt.first)
			if f.Severity != tt.sev {
				t.Errorf("severity %s, want %s: %s", f.Severity, tt.sev, f.Title)
			}
			if tt.id == "container-oom-killed" {
				if limits, _ := f.Evidence["memoryLimits"].(map[string]any); limits["skipper"] != "500Mi" {
					t.Errorf("memoryLimits = %v, want skipper 500Mi", f.Evidence["memoryLimits"])
				}
			}
			if tt.id == "hpa-cannot-scale" {
				if hpas, _ := f.Evidence["hpas"].([]any); !slices.Contains(hpas, any("cap-autoscale/prod-api")) {
					t.Errorf("cap-autoscale/prod-api not among the HPAs that cannot scale: %v", f.Evidence)
				}
			}
		})
	}
}
