package workload

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		names      Names
		component  string
		typha, net bool
	}{
		{Names{Name: "calico-typha"}, "calico-typha", true, true},
		{Names{Name: "typha-server", TemplateLabels: map[string]string{"k8s-app": "calico-typha"}}, "calico-typha", true, true},
		{Names{Name: "x", Labels: map[string]string{"k8s-app": "calico-typha"}}, "calico-typha", true, true},
		{Names{Name: "x", TemplateLabels: map[string]string{"app": "typha"}}, "calico-typha", true, true},
		{Names{Name: "calico-node"}, "calico-node", false, true},
		{Names{Name: "calico-kube-controllers"}, "calico", false, true},
		{Names{Name: "x", TemplateLabels: map[string]string{"app.kubernetes.io/name": "kube-proxy"}}, "kube-proxy", false, true},
		{Names{Name: "coredns"}, "coredns", false, false},
		{Names{Name: "nodelocaldns"}, "node-local-dns", false, false},
		{Names{Name: "aws-node"}, "aws-node", false, true},
		{Names{Name: "kube-multus-ds"}, "multus", false, true},
		// Networking is broader than the known components.
		{Names{Name: "my-calico-exporter"}, "", false, true},
		{Names{Name: "x", Labels: map[string]string{"k8s-app": "vendor-cni-agent"}}, "", false, true},
		{Names{Name: "metrics-server", Labels: map[string]string{"other": "calico"}}, "", false, false},
	} {
		c, _ := tc.names.Identify()
		if c.Name != tc.component || tc.names.Typha() != tc.typha || tc.names.Networking() != tc.net {
			t.Errorf("%+v: component %q typha %v networking %v, want %q %v %v",
				tc.names, c.Name, tc.names.Typha(), tc.names.Networking(), tc.component, tc.typha, tc.net)
		}
	}
}

// TestNetworkComponents: every known component below DNS is networking.
func TestNetworkComponents(t *testing.T) {
	for _, c := range components {
		if n := (Names{Name: c.Name}); c.Role != RoleDNS && !n.Networking() {
			t.Errorf("%s (%s) is not networking", c.Name, c.Role)
		}
	}
}

func TestClassify(t *testing.T) {
	one := int32(1)
	d := func(ns, name, priority string) *appsv1.Deployment {
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &one}}
		dep.Spec.Template.Spec.PriorityClassName = priority
		return dep
	}
	for _, tc := range []struct {
		d    *appsv1.Deployment
		want []string
	}{
		{d("shop", "web", ""), nil},
		{d("kube-system", "calico-typha", ""), []string{"known component calico-typha", "namespace kube-system"}},
		{d("ingress", "nginx", "system-cluster-critical"), []string{"priorityClassName system-cluster-critical"}},
		{d("dns", "coredns", "system-node-critical"), []string{"known component coredns", "priorityClassName system-node-critical"}},
	} {
		w := FromDeployment(tc.d)
		if got := w.Classify().Reasons; !slices.Equal(got, tc.want) {
			t.Errorf("%s/%s: %q, want %q", tc.d.Namespace, tc.d.Name, got, tc.want)
		}
	}
}

func TestProgress(t *testing.T) {
	three := int32(3)
	for _, tc := range []struct {
		name     string
		d        appsv1.Deployment
		complete bool
		detail   string
	}{
		{"complete", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}},
			true, "3/3 updated, 3/3 ready, 3/3 available"},
		{"old pods left", appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3}},
			false, "2/3 updated, 3/3 ready, 3/3 available, 2 old"},
		{"stale", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}},
			false, "controller has not seen the latest spec; 3/3 updated, 3/3 ready, 3/3 available"},
		{"nil replicas", appsv1.Deployment{Status: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}},
			true, "1/1 updated, 1/1 ready, 1/1 available"},
	} {
		p := DeploymentProgress(&tc.d)
		if p.Complete != tc.complete || p.Detail != tc.detail {
			t.Errorf("%s: %+v, want complete %v detail %q", tc.name, p, tc.complete, tc.detail)
		}
	}
}
