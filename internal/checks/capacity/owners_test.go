package capacity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnerOf(t *testing.T) {
	yes := true
	ref := func(apiVersion, kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, Controller: &yes}}
	}
	for _, tc := range []struct {
		name   string
		owners []metav1.OwnerReference
		labels map[string]string
		want   string
	}{
		{"deployment through its ReplicaSet", ref("apps/v1", "ReplicaSet", "web-5d78c9"), map[string]string{"pod-template-hash": "5d78c9"}, "Deployment ns/web"},
		{"ReplicaSet of its own", ref("apps/v1", "ReplicaSet", "web-5d78c9"), nil, "ReplicaSet ns/web-5d78c9"},
		{"hash that is not the name's suffix", ref("apps/v1", "ReplicaSet", "web"), map[string]string{"pod-template-hash": "5d78c9"}, "ReplicaSet ns/web"},
		{"StatefulSet", ref("apps/v1", "StatefulSet", "db"), nil, "StatefulSet ns/db"},
		{"Job", ref("batch/v1", "Job", "report-1"), nil, "Job ns/report-1"},
		{"owner that is not the controller", []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x"}}, nil, "Pod ns/p"},
		{"no owner", nil, nil, "Pod ns/p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", OwnerReferences: tc.owners, Labels: tc.labels}}
			if got := ownerOf(p).String(); got != tc.want {
				t.Errorf("ownerOf = %q, want %q", got, tc.want)
			}
		})
	}
	// The group comes from the owner's apiVersion.
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", OwnerReferences: ref("batch/v1", "Job", "j")}}
	if g := ownerOf(p).Group; g != "batch" {
		t.Errorf("group = %q, want batch", g)
	}
}
