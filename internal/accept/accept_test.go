package accept

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

func TestParse(t *testing.T) {
	known := func(id string) bool { return id == "jobs-without-ttl" || id == "typha-replicas" }
	tests := []struct {
		name, in, err string
		want          int
	}{
		{"yaml", "accept:\n- check: jobs-without-ttl\n  object: Namespace/batch\n  reason: reviewed\n", "", 1},
		{"json", `{"accept":[{"check":"typha-replicas","object":"deploy/kube-system/calico-typha"}]}`, "", 1},
		{"empty", "", "", 0},
		{"unknown check", "accept:\n- {check: nope, object: Namespace/x}\n", `unknown check "nope"`, 0},
		{"bad object", "accept:\n- {check: typha-replicas, object: a/b/c/d}\n", "KIND/NAMESPACE/NAME", 0},
		{"missing object", "accept:\n- {check: typha-replicas}\n", "want check and object", 0},
		{"unknown field", "accept:\n- {check: typha-replicas, object: ns/x, why: typo}\n", "unknown field", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), "accept.yaml", known)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("got %d entries, %v; want %d", len(got), err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	meta := func(ns, name string, ann map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann}
	}
	snap := &snapshot.Snapshot{
		Deployments: []appsv1.Deployment{
			{ObjectMeta: meta("kube-system", "calico-typha", map[string]string{Annotation: "critical-single-replica, typha-replicas", ReasonAnnotation: "lab cluster"})},
			{ObjectMeta: meta("web", "api", map[string]string{Annotation: "other-check"})},
		},
		Namespaces: []corev1.Namespace{{ObjectMeta: meta("", "batch", nil)}},
		Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{
			snapshot.ReplicaSets: {{ObjectMeta: meta("web", "api-1", map[string]string{Annotation: "rs-check"})}},
		},
	}
	deploy := func(ns, name string) check.Object {
		return check.Object{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name}
	}
	typhaPDB := check.Object{Group: "policy", Kind: "PodDisruptionBudget", Namespace: "kube-system", Name: "calico-typha"}
	entries, err := Parse([]byte(`accept:
- {check: jobs-without-ttl, object: Namespace/batch, reason: nightly jobs}
- {check: typha-replicas, object: poddisruptionbudget.policy/kube-system/calico-typha}
`), "accept.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		f          check.Finding
		accepted   bool
		by, reason string
	}{
		{"annotation", check.Finding{ID: "typha-replicas", Objects: []check.Object{deploy("kube-system", "calico-typha")}}, true,
			"annotation premortem.dev/accept on Deployment kube-system/calico-typha", "lab cluster"},
		{"annotation names another check", check.Finding{ID: "typha-replicas", Objects: []check.Object{deploy("web", "api")}}, false, "", ""},
		{"no group in the finding", check.Finding{ID: "critical-single-replica", Objects: []check.Object{{Kind: "Deployment", Namespace: "kube-system", Name: "calico-typha"}}}, true, "", ""},
		{"metadata-only kind", check.Finding{ID: "rs-check", Objects: []check.Object{{Group: "apps", Kind: "ReplicaSet", Namespace: "web", Name: "api-1"}}}, true, "", ""},
		{"file", check.Finding{ID: "jobs-without-ttl", Objects: []check.Object{{Kind: "Namespace", Name: "batch"}}}, true, "file accept.yaml", "nightly jobs"},
		{"file and annotation together", check.Finding{ID: "typha-replicas", Objects: []check.Object{deploy("kube-system", "calico-typha"), typhaPDB}}, true, "file accept.yaml", "lab cluster"},
		{"one object of two", check.Finding{ID: "typha-replicas", Objects: []check.Object{deploy("kube-system", "calico-typha"), deploy("web", "api")}}, false, "", ""},
		{"no objects", check.Finding{ID: "typha-replicas"}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &check.Result{Findings: []check.Finding{tt.f, {ID: "other", Objects: []check.Object{deploy("x", "y")}}}}
			Apply(r, snap, entries)
			if got := len(r.Accepted) == 1; got != tt.accepted {
				t.Fatalf("accepted = %v, want %v (findings %v)", got, tt.accepted, r.Findings)
			}
			if len(r.Findings)+len(r.Accepted) != 2 {
				t.Fatalf("findings lost: %d kept, %d accepted", len(r.Findings), len(r.Accepted))
			}
			if !tt.accepted {
				return
			}
			a := r.Accepted[0]
			if tt.by != "" && !slices.Contains(a.AcceptedBy, tt.by) {
				t.Errorf("acceptedBy = %q, want %q", a.AcceptedBy, tt.by)
			}
			if tt.reason != "" && !slices.Contains(a.Reasons, tt.reason) {
				t.Errorf("reasons = %q, want %q", a.Reasons, tt.reason)
			}
		})
	}
}
