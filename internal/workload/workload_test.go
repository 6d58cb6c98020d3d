package workload

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		names      []string
		component  string
		typha, net bool
	}{
		{[]string{"calico-typha"}, "calico-typha", true, true},
		{[]string{"typha-server", "calico-typha"}, "calico-typha", true, true},
		{[]string{"calico-node"}, "calico-node", false, true},
		{[]string{"calico-kube-controllers"}, "calico", false, true},
		{[]string{"x", "kube-proxy"}, "kube-proxy", false, true},
		{[]string{"coredns"}, "coredns", false, false},
		{[]string{"nodelocaldns"}, "node-local-dns", false, false},
		{[]string{"aws-node"}, "aws-node", false, true},
		{[]string{"kube-multus-ds"}, "multus", false, true},
		// Networking is broader than the known components.
		{[]string{"my-calico-exporter"}, "", false, true},
		{[]string{"vendor-cni-agent"}, "", false, true},
		{[]string{"metrics-server"}, "", false, false},
	} {
		c, _ := Identify(tc.names)
		if c.Name != tc.component || Typha(tc.names) != tc.typha || Networking(tc.names) != tc.net {
			t.Errorf("%q: component %q typha %v networking %v, want %q %v %v", tc.names, c.Name, Typha(tc.names), Networking(tc.names), tc.component, tc.typha, tc.net)
		}
	}
}

// TestNetworkComponents: every known component below DNS is networking.
func TestNetworkComponents(t *testing.T) {
	for _, c := range components {
		if c.Role != RoleDNS && !Networking([]string{c.Name}) {
			t.Errorf("%s (%s) is not networking", c.Name, c.Role)
		}
	}
}

func TestNames(t *testing.T) {
	got := Names("x", map[string]string{"k8s-app": "a", "other": "b"}, map[string]string{"app": "c", "app.kubernetes.io/name": "d"})
	if want := []string{"x", "a", "d", "c"}; !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
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
