package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/cli"
)

// TestCustomResourcesCounted: custom resources count toward object growth
// and the per-kind threshold without premortem reading them: one limit=1
// LIST of the kind from the watch cache, whose remainingItemCount is the
// count.
func TestCustomResourcesCounted(t *testing.T) {
	ctx := context.Background()
	widgets := schema.GroupVersionResource{Group: "counts.premortem.dev", Version: "v1", Resource: "widgets"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": widgets.Resource + "." + widgets.Group},
		"spec": map[string]any{
			"group": widgets.Group, "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Served once discovery lists it and a LIST answers.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(widgets).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("widgets not served: %v", err)
	}

	base := filepath.Join(t.TempDir(), "baseline.json.gz")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, base); code == cli.ExitError {
		t.Fatalf("snapshot save: exit %d: %s", code, stderr)
	}
	const n = 30
	for i := range n {
		w := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": widgets.GroupVersion().String(), "kind": "Widget",
			"metadata": map[string]any{"name": fmt.Sprintf("w-%02d", i), "namespace": "default"},
		}}
		if _, err := dyn.Resource(widgets).Namespace("default").Create(ctx, w, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = dyn.Resource(crds).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})

	before := auditSize(t)
	res := scanJSON(t, "--only", "object-growth,object-count-thresholds", "--baseline", base,
		"--param", "object-growth.min-increase=20", "--param", "object-count-thresholds.objects-per-kind=25")
	find := func(id string) *check.Finding {
		for i, f := range res.Findings {
			if f.ID == id && f.Evidence["resource"] == "widgets.counts.premortem.dev" {
				return &res.Findings[i]
			}
		}
		return nil
	}
	if f := find("object-growth"); f == nil || f.Evidence["before"] != float64(0) || f.Evidence["now"] != float64(n) {
		t.Errorf("object-growth on widgets: %+v, want 0 -> %d", f, n)
	}
	if f := find("object-count-thresholds"); f == nil || f.Evidence["count"] != float64(n) {
		t.Errorf("object-count-thresholds on widgets: %+v, want a count of %d", f, n)
	}
	// The read cost: one request, limit 1, first page from the watch cache
	// (premortemLists checks every LIST's parameters).
	chains := premortemLists(t, before)
	if c := chains["widgets."+widgets.Group]; c == nil || c.Pages != 1 || c.Limit != 1 {
		t.Errorf("widgets counted by %+v, want one LIST of limit 1", c)
	}
}
