package e2e

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/accept"
)

// TestAcceptAnnotation: a finding on an object annotated
// premortem.dev/accept for its check leaves the findings for the accepted
// list, with the reason given, on a live read.
func TestAcceptAnnotation(t *testing.T) {
	ctx := context.Background()
	one := int32(1)
	labels := map[string]string{"app": "accept-e2e"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "accept-e2e", Namespace: "kube-system", Annotations: map[string]string{
			accept.Annotation: "critical-single-replica", accept.ReasonAnnotation: "reviewed: a lab singleton"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}},
	}
	if _, err := cluster.Client.AppsV1().Deployments("kube-system").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.AppsV1().Deployments("kube-system").Delete(context.Background(), d.Name, metav1.DeleteOptions{})
	})
	res := scanJSON(t, "--only", "critical-single-replica")
	const name = "Deployment kube-system/accept-e2e"
	if fs := findingFor(res, "critical-single-replica", name); len(fs) > 0 {
		t.Errorf("accepted finding still reported: %s", fs[0].Title)
	}
	if fs := findingFor(res, "critical-single-replica", "Deployment kube-system/metrics-server"); len(fs) == 0 {
		t.Errorf("metrics-server, not annotated, is no longer reported")
	}
	var found bool
	for _, a := range res.Accepted {
		if a.ID == "critical-single-replica" && len(a.Objects) > 0 && a.Objects[0].String() == name {
			found = true
			if len(a.Reasons) != 1 || a.Reasons[0] != "reviewed: a lab singleton" {
				t.Errorf("reasons %q", a.Reasons)
			}
		}
	}
	if !found {
		t.Errorf("%s not among the accepted findings: %+v", name, res.Accepted)
	}
}
