package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/lab/scenario"
)

// TestEtcdChecks: each check of what the cluster stores finds its
// scenario's condition in the lab (scenarios 254-261) at its default
// thresholds, reading each kind it needs with one paginated LIST chain.
// configmap-near-size-limit's scenario (258, a ConfigMap no workload uses)
// is found in a file: a live read does not read its data
// (TestScanReadsConfigMapDataByName).
func TestEtcdChecks(t *testing.T) {
	before := auditSize(t)
	res := scanJSON(t, "--chunk-size", "10")
	chains := premortemLists(t, before)
	for _, kind := range []string{"configmaps.", "secrets.", "replicasets.apps", "deployments.apps", "jobs.batch",
		"resourcequotas.", "networkpolicies.networking.k8s.io"} {
		if chains[kind] == nil {
			t.Errorf("%s not listed", kind)
		}
	}
	if c := chains["replicasets.apps"]; c != nil && c.Pages < 2 {
		t.Errorf("replicasets read in %d page(s) of %d: pagination untested", c.Pages, c.Limit)
	}
	tests := []struct {
		id, first string
		sev       check.Severity
		says      string
	}{
		{"replicaset-history", "Deployment etcd-deploys/storefront", check.Medium, `"revisionHistoryLimit":100`},
		{"helm-release-history", "Secret etcd-helm/sh.helm.release.v1.payments-api.v1", check.Medium, fmt.Sprintf(`"records":%d`, scenario.EtcdHelmRevisions)},
		{"churn-without-quota", "Namespace etcd-churn", check.Medium, "php /srv/maintenance/purgeCache.php --wiki=enwiki --batch="},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f := mustFind(t, res, tt.id, tt.first)
			if f.Severity != tt.sev {
				t.Errorf("severity %s, want %s: %s", f.Severity, tt.sev, f.Title)
			}
			if ev, _ := json.Marshal(f.Evidence); !strings.Contains(string(ev), tt.says) {
				t.Errorf("evidence lacks %s: %s", tt.says, ev)
			}
		})
	}
}
