package checks

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// bigSnapshot is the benchmark cluster: 5,000 nodes and 150,000
// pods, with the other kinds in proportion.
func bigSnapshot() *snapshot.Snapshot {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	s := &snapshot.Snapshot{Info: snapshot.Info{TakenAt: now}, Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{}}
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	for i := range 5000 {
		kernel := "6.1.0-21-amd64"
		if i%50 == 0 {
			kernel = "6.1.0-18-amd64"
		}
		s.Nodes = append(s.Nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%04d", i)},
			Status: corev1.NodeStatus{Conditions: ready, NodeInfo: corev1.NodeSystemInfo{KernelVersion: kernel,
				KubeletVersion: "v1.36.3", ContainerRuntimeVersion: "containerd://2.1.4", OSImage: "Debian 12"}}})
	}
	for i := range 500 {
		s.Namespaces = append(s.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%03d", i)}})
	}
	podReady := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	two := int32(2)
	// 5,000 Deployments of 29 pods each (145,000) plus calico-node on every node.
	for d := range 5000 {
		ns := fmt.Sprintf("ns-%03d", d%500)
		name := fmt.Sprintf("app-%04d", d)
		labels := map[string]string{"app": name}
		s.Deployments = append(s.Deployments, appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}}})
		rs := name + "-5d78"
		s.Metadata[snapshot.ReplicaSets] = append(s.Metadata[snapshot.ReplicaSets], metav1.PartialObjectMetadata{
			ObjectMeta: metav1.ObjectMeta{Name: rs, Namespace: ns, OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: name}}}})
		for p := range 29 {
			s.Pods = append(s.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", rs, p), Namespace: ns, Labels: labels,
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: rs}}},
				Spec:   corev1.PodSpec{NodeName: fmt.Sprintf("node-%04d", (d*29+p)%5000)},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: podReady, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true}}}})
		}
	}
	s.DaemonSets = append(s.DaemonSets, appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "calico-node", Namespace: "kube-system"},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 5000, NumberReady: 5000}})
	for i := range 5000 {
		s.Pods = append(s.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("calico-node-%04d", i), Namespace: "kube-system",
			OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "calico-node"}}},
			Spec:   corev1.PodSpec{NodeName: fmt.Sprintf("node-%04d", i)},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: podReady, ContainerStatuses: []corev1.ContainerStatus{{Name: "calico-node", Ready: true}}}})
	}
	done := []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
	for i := range 3000 {
		s.Jobs = append(s.Jobs, batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("job-%04d", i), Namespace: fmt.Sprintf("ns-%03d", i%500)},
			Status: batchv1.JobStatus{Conditions: done}})
	}
	for i := range 20000 {
		ns := fmt.Sprintf("ns-%03d", i%500)
		rel := fmt.Sprintf("rel-%05d", i)
		s.Metadata[snapshot.ConfigMaps] = append(s.Metadata[snapshot.ConfigMaps], metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: rel, Namespace: ns, Labels: map[string]string{"helm.sh/chart": "chart-1.0.0"}, Annotations: map[string]string{"meta.helm.sh/release-name": rel}}})
		s.Metadata[snapshot.Secrets] = append(s.Metadata[snapshot.Secrets], metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: "sh.helm.release.v1." + rel + ".v1", Namespace: ns, Labels: map[string]string{"owner": "helm", "name": rel}}})
	}
	for i := range 2000 {
		s.Metadata[snapshot.NetworkPolicies] = append(s.Metadata[snapshot.NetworkPolicies], metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("np-%04d", i), Namespace: fmt.Sprintf("ns-%03d", i%500)}})
	}
	return s
}

// BenchmarkAllChecks runs the whole catalog over the benchmark cluster:
// go test ./internal/checks -run '^$' -bench AllChecks -benchmem
func BenchmarkAllChecks(b *testing.B) {
	snap := bigSnapshot()
	cs := All()
	b.ResetTimer()
	for b.Loop() {
		res, err := check.Run(context.Background(), snap, cs, check.Options{Baseline: snap})
		// Checks whose inputs the cluster lacks (FlowSchemas, identity
		// Leases, a certificate) do not apply; none may fail.
		if err != nil || !res.Complete() {
			b.Fatalf("%v %+v", err, res.NotRun)
		}
	}
}

// BenchmarkEachCheck shows which check costs what on the same cluster.
func BenchmarkEachCheck(b *testing.B) {
	snap := bigSnapshot()
	for _, c := range All() {
		b.Run(c.ID, func(b *testing.B) {
			for b.Loop() {
				if _, err := check.Run(context.Background(), snap, []*check.Check{c}, check.Options{Baseline: snap}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
