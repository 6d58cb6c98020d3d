package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/premortem/premortem/test/e2e/auditlog"
)

// Kinds the read-cost tests count: the scenarios leave hundreds of each.
var (
	jobs            = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	secrets         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
	configMaps      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	pods            = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// auditSize is the shared lab's audit log size: what a test causes next is
// logged after it.
func auditSize(t *testing.T) int64 {
	t.Helper()
	return auditlog.Size(t, cluster.AuditLog)
}

// premortemLists checks every LIST premortem sent after offset (see
// auditlog.Lists) and that a scan-like read listed each kind by one chain
// only. It returns the chains by kind.
func premortemLists(t *testing.T, offset int64) map[string]*auditlog.Chain {
	t.Helper()
	chains := auditlog.Lists(t, auditlog.Since(t, cluster.AuditLog, offset, "premortem/"))
	if len(chains) == 0 {
		t.Fatal("no LIST by premortem in the audit log")
	}
	for kind, c := range chains {
		// One chain per scope, and one scope, but for the namespaces whose
		// ConfigMaps are read with data (internal/kube/configmapdata.go).
		if c.MostPerScope() != 1 || (len(c.Scopes) > 1 && kind != "configmaps.") {
			t.Errorf("%s listed by %d chains (by namespace, \"\" cluster-wide: %v), want 1", kind, c.Chains, c.Scopes)
		}
		if c.Consistent > 0 {
			t.Errorf("%s: %d chains began with a consistent read; a scan reads the watch cache", kind, c.Consistent)
		}
	}
	return chains
}

// objectCounts counts each kind in the whole lab, as the test's own client
// sees it now.
func objectCounts(t *testing.T, kinds ...schema.GroupVersionResource) map[schema.GroupVersionResource]int {
	t.Helper()
	md, err := metadata.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[schema.GroupVersionResource]int{}
	for _, k := range kinds {
		l, err := md.Resource(k).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("count %s: %v", k.Resource, err)
		}
		counts[k] = len(l.Items)
	}
	return counts
}
