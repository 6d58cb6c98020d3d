package preflight

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func mustParse(t *testing.T, data string) []Object {
	t.Helper()
	objs, err := ParseManifest("t.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// labScope knows the kinds of a small cluster.
func labScope(gk schema.GroupKind, _ string) (bool, bool) {
	switch gk {
	case schema.GroupKind{Kind: "Namespace"}, schema.GroupKind{Kind: "PersistentVolume"},
		schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		return false, true
	case schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Kind: "Service"},
		schema.GroupKind{Kind: "PersistentVolumeClaim"}, schema.GroupKind{Group: "batch", Kind: "Job"}:
		return true, true
	}
	return false, false
}

func names(objs []Object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.String())
	}
	return strings.Join(s, " ")
}

func TestResolveAndDiff(t *testing.T) {
	old := mustParse(t, `
apiVersion: v1
kind: Namespace
metadata: {name: shop-data, namespace: ignored}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
`)
	new := mustParse(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: v2
kind: ConfigMap
metadata: {name: extra}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {helm.sh/hook: pre-upgrade}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1}
---
# Source: shop/crds/widgets.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}
`)
	notes := Resolve("shop", labScope, old, new)
	if len(notes) != 1 || !strings.Contains(notes[0], "Gadget.example.com is not served") {
		t.Errorf("notes = %q, want one about Gadget", notes)
	}
	deleted, created := Diff(old, new)
	// Widget is cluster-scoped by the CRD in the manifest; the hook Job
	// does not keep the old Job, nor the crds/ file the old CRD; settings
	// matches across an explicit and a defaulted namespace.
	wantDeleted := "Namespace/shop-data CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com Widget.example.com/w1 PersistentVolumeClaim/shop/data Job.batch/shop/migrate"
	if got := names(deleted); got != wantDeleted {
		t.Errorf("deleted:\n got %s\nwant %s", got, wantDeleted)
	}
	if got, want := names(created), "ConfigMap/shop/extra"; got != want {
		t.Errorf("created = %s, want %s", got, want)
	}
}

func TestDiffMatchesIgnoringVersion(t *testing.T) {
	old := []Object{{Group: "apps", Version: "v1beta2", Kind: "Deployment", Namespace: "a", Name: "web"}}
	new := []Object{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "a", Name: "web"}}
	if d, c := Diff(old, new); len(d)+len(c) != 0 {
		t.Errorf("a version change is not a delete+create: deleted %v created %v", d, c)
	}
	new[0].Group = "extensions"
	if d, c := Diff(old, new); len(d) != 1 || len(c) != 1 {
		t.Errorf("a group change is a delete+create (Helm matches on group): deleted %v created %v", d, c)
	}
}

func TestParseAllow(t *testing.T) {
	ns := Object{Kind: "Namespace", Name: "shop-data"}
	svc := Object{Kind: "Service", Namespace: "shop", Name: "web"}
	crd := Object{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}
	tests := []struct {
		allow   string
		matches []Object
		misses  []Object
		wantErr bool
	}{
		{allow: "Namespace/shop-data", matches: []Object{ns}},
		{allow: "ns/shop-data", matches: []Object{ns}},
		{allow: "service/shop/web", matches: []Object{svc}, misses: []Object{{Kind: "Service", Namespace: "other", Name: "web"}}},
		{allow: "svc/web", matches: []Object{svc, {Kind: "Service", Namespace: "other", Name: "web"}}},
		{allow: "crd/widgets.example.com", matches: []Object{crd}},
		{allow: "CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com", matches: []Object{crd}},
		{allow: "customresourcedefinition.example.org/widgets.example.com", misses: []Object{crd}},
		{allow: "Secret/web", misses: []Object{svc}},
		{allow: "web", wantErr: true},
		{allow: "a/b/c/d", wantErr: true},
		{allow: "Service//web", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.allow, func(t *testing.T) {
			a, err := ParseAllow(tt.allow)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			for _, o := range tt.matches {
				if !a.Matches(o) {
					t.Errorf("%s does not match %s", tt.allow, o)
				}
			}
			for _, o := range tt.misses {
				if a.Matches(o) {
					t.Errorf("%s matches %s", tt.allow, o)
				}
			}
		})
	}
}

func TestChartName(t *testing.T) {
	for label, want := range map[string]string{
		"mwscript-0.1.2":        "mwscript",
		"my-app-1.2.3-rc.1":     "my-app",
		"app2-10.0.0+build_1":   "app2",
		"cert-manager-v1.14.4":  "cert-manager",
		"no-version-here":       "no-version-here",
		"k8s-1-2":               "k8s",
		"redis-ha-4.27.6_abc-1": "redis-ha",
	} {
		if got := ChartName(label); got != want {
			t.Errorf("ChartName(%q) = %q, want %q", label, got, want)
		}
	}
}

func TestCountByKind(t *testing.T) {
	var objs []Object
	for i := range 3 {
		objs = append(objs, Object{Kind: "ConfigMap", Name: fmt.Sprint(i)})
	}
	objs = append(objs, Object{Group: "networking.k8s.io", Kind: "NetworkPolicy", Name: "a"}, Object{Kind: "Service", Name: "a"})
	got := countsString(CountByKind(objs), 10)
	if want := "3 ConfigMap, 1 NetworkPolicy, 1 Service"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestChartOf(t *testing.T) {
	labelled := mustParse(t, "# Source: shop/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {helm.sh/chart: shop-app-1.0.0}}\n")
	if got := chartOf(labelled); got != "shop-app" {
		t.Errorf("label: %q", got)
	}
	unlabelled := mustParse(t, "---\n# Source: mwscript/templates/run.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
	if got := chartOf(unlabelled); got != "mwscript" {
		t.Errorf("source comment: %q", got)
	}
	if got := chartOf(mustParse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")); got != "" {
		t.Errorf("neither: %q", got)
	}
}
