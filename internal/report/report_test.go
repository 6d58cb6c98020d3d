package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/snapshot"
)

var takenAt = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func nodes(n int) []check.Object {
	var out []check.Object
	for i := range n {
		out = append(out, check.Object{Kind: "Node", Name: "node-" + string(rune('a'+i))})
	}
	return out
}

// results are hand-built so the golden files test rendering, not check wording.
var results = map[string]*check.Result{
	"findings": {
		Info: snapshot.Info{Source: "live:https://10.0.0.1:6443", TakenAt: takenAt, ServerVersion: "v1.36.3"},
		Findings: []check.Finding{
			{ID: "apiservice-unavailable", Severity: check.Critical,
				Title:   "APIService v1beta1.metrics.k8s.io unavailable; holds back deletion of 2 namespaces",
				Message: "Aggregated APIService v1beta1.metrics.k8s.io (Service kube-system/metrics-server) has not been Available for 2d2h (MissingEndpoints). Their contents WILL be deleted when the API comes back.",
				Objects: []check.Object{{Group: "apiregistration.k8s.io", Kind: "APIService", Name: "v1beta1.metrics.k8s.io"},
					{Kind: "Namespace", Name: "old-team"}, {Kind: "Namespace", Name: "shop"}},
				Evidence:    map[string]any{"unavailableFor": "2d2h", "readyEndpoints": 0, "heldNamespaces": []map[string]any{{"name": "old-team", "terminatingFor": "30m"}, {"name": "shop", "terminatingFor": "2d1h"}}},
				Incidents:   []string{"004"},
				Remediation: "Fix or remove the APIService.\nBack up what the namespaces contain."},
			{ID: "node-not-ready", Severity: check.Critical, Title: "25 nodes: container runtime not ready (25% of nodes)",
				Message: "25 nodes of 100 are container runtime not ready.", Objects: nodes(25),
				Evidence: map[string]any{"cause": "runtime", "count": 25}, Incidents: []string{"004", "001"}, Remediation: "Check the runtime."},
			{ID: "typha-replicas", Severity: check.High, Title: "Typha kube-system/calico-typha: 1 replica(s) for 12 nodes (want 3)",
				Message: "Typha runs 1 replica.", Objects: []check.Object{{Group: "apps", Kind: "Deployment", Namespace: "kube-system", Name: "calico-typha"}},
				Evidence: map[string]any{"replicas": 1, "wanted": 3}, Incidents: []string{"003"}, Remediation: "Scale Typha."},
			{ID: "networkpolicy-sprawl", Severity: check.Medium, Title: "2100 NetworkPolicies in the cluster (threshold 1000)",
				Message: "The cluster holds 2100 NetworkPolicies | a pipe and *stars* and <tags>.", Incidents: []string{"001"}, Remediation: "Share policies."},
			{ID: "critical-single-replica", Severity: check.Low, Title: "Deployment kube-system/dashboard: no PodDisruptionBudget with a title long enough that the table has to cut it short somewhere",
				Message: "dashboard has no PDB.", Objects: []check.Object{{Group: "apps", Kind: "Deployment", Namespace: "kube-system", Name: "dashboard"}},
				Incidents: []string{"003", "004"}, Remediation: "Add a PDB."},
		},
		Ran:    []string{"apiservice-unavailable", "critical-single-replica", "networkpolicy-sprawl", "node-not-ready", "typha-replicas"},
		NotRun: []check.NotRun{{ID: "object-growth", Reason: "needs --baseline"}},
	},
	"incomplete": {
		Info: snapshot.Info{Source: "snapshot.yaml", TakenAt: takenAt,
			Skipped:           []snapshot.Skipped{{Resource: snapshot.Secrets, Reason: "forbidden: secrets is forbidden: User \"ci\" cannot list resource \"secrets\""}},
			DiscoveryFailures: []snapshot.DiscoveryFailure{{GroupVersion: "metrics.k8s.io/v1beta1", Error: "the server is currently unable to handle the request"}}},
		Findings: []check.Finding{{ID: "jobs-without-ttl", Severity: check.Medium, Title: "1800 finished Jobs without TTL in maint (oldest 51d)",
			Message: "Namespace maint holds 1800 finished Jobs.", Objects: []check.Object{{Kind: "Namespace", Name: "maint"}, {Group: "batch", Kind: "Job", Namespace: "maint", Name: "mwscript-1"}},
			Evidence: map[string]any{"count": 1800}, Incidents: []string{"001"}, Remediation: "Set ttlSecondsAfterFinished."}},
		Ran:    []string{"jobs-without-ttl"},
		NotRun: []check.NotRun{{ID: "helm-release-per-run", Reason: "not read: secrets (forbidden)", Incomplete: true}},
	},
	"incomplete-empty": {
		Info:     snapshot.Info{Source: "live:https://10.0.0.1:6443", TakenAt: takenAt, Skipped: []snapshot.Skipped{{Resource: snapshot.Pods, Reason: "error: context deadline exceeded"}}},
		Findings: []check.Finding{}, Ran: []string{"node-not-ready"},
		NotRun: []check.NotRun{{ID: "system-daemonset-unready", Reason: "not read: pods (error: context deadline exceeded)", Incomplete: true}},
	},
	"clean": {
		Info: snapshot.Info{Source: "live:https://10.0.0.1:6443", TakenAt: takenAt}, Findings: []check.Finding{},
		Ran: []string{"node-not-ready", "typha-replicas"},
	},
}

func TestWriteGolden(t *testing.T) {
	for name, r := range results {
		for _, format := range Formats {
			t.Run(name+"/"+format, func(t *testing.T) {
				var b bytes.Buffer
				if err := Write(&b, format, r); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, "testdata/result-"+name+"."+format+".golden", b.Bytes())
			})
		}
	}
}

// An incomplete result must never read as clean, in any format.
func TestIncompleteNeverClean(t *testing.T) {
	for _, name := range []string{"incomplete", "incomplete-empty"} {
		r := results[name]
		if r.Complete() {
			t.Fatalf("%s: result reports complete", name)
		}
		s := Summary(r)
		if !strings.HasPrefix(s, "INCOMPLETE") || !strings.Contains(s, "Not read: ") {
			t.Errorf("%s: summary %q must start INCOMPLETE and say what was not read", name, s)
		}
		if strings.Contains(strings.ToLower(s), "no findings") {
			t.Errorf("%s: summary %q reads as clean", name, s)
		}
	}
	if s := Summary(results["clean"]); s != "No findings from 2 checks." {
		t.Errorf("clean summary = %q", s)
	}
}

func TestJSONSchemaStable(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "json", results["findings"]); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schemaVersion", "info", "complete", "summary", "findings", "ran", "notRun"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	f := doc["findings"].([]any)[3].(map[string]any) // the cluster-wide one: no objects, no evidence
	for _, k := range []string{"id", "severity", "title", "message", "objects", "evidence", "incidents", "remediation"} {
		if v, ok := f[k]; !ok || v == nil {
			t.Errorf("finding key %q missing or null", k)
		}
	}
	if f["severity"] != "medium" {
		t.Errorf("severity = %v, want the name", f["severity"])
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "yaml", results["clean"]); err == nil || !strings.Contains(err.Error(), `unknown output format "yaml"`) {
		t.Errorf("err = %v", err)
	}
}
