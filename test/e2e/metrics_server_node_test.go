package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetricsServerOnDriftedNode: in scenario 004 metrics-server runs, as
// in the talk, on a node that exists and carries the old kernel and runtime
// (not on a node name nobody has), and its APIService is unavailable all
// the same.
func TestMetricsServerOnDriftedNode(t *testing.T) {
	ctx := context.Background()
	var pod corev1.Pod
	waitFor(t, "a running metrics-server pod", func() bool {
		pods, err := cluster.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=metrics-server"})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				pod = p
				return true
			}
		}
		return false
	})
	node, err := cluster.Client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("metrics-server runs on node %q: %v", pod.Spec.NodeName, err)
	}
	base, err := cluster.Client.CoreV1().Nodes().Get(ctx, "lab-node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := node.Status.NodeInfo, base.Status.NodeInfo
	if got.KernelVersion == want.KernelVersion || got.ContainerRuntimeVersion == want.ContainerRuntimeVersion {
		t.Errorf("metrics-server's node %s runs kernel %s, runtime %s: the base nodes' own (%s, %s), not the old ones",
			node.Name, got.KernelVersion, got.ContainerRuntimeVersion, want.KernelVersion, want.ContainerRuntimeVersion)
	}
	res := scanJSON(t)
	if fs := findingFor(res, "apiservice-unavailable", "APIService v1beta1.metrics.k8s.io"); len(fs) == 0 {
		t.Errorf("apiservice-unavailable no longer reports v1beta1.metrics.k8s.io")
	}
	drift := false
	for _, f := range findingFor(res, "node-version-drift", "Node "+node.Name) {
		pods, _ := f.Evidence["criticalPodsOnMinority"].([]any)
		for _, p := range pods {
			drift = drift || p == "kube-system/"+pod.Name+" on "+node.Name
		}
	}
	if !drift {
		t.Errorf("node-version-drift does not name metrics-server's pod %s on %s among the critical pods", pod.Name, node.Name)
	}
}
