package restart

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

// Fixtures: healthy, fully rolled-out workloads unless an option says
// otherwise. Each workload's image is registry.example/<name>:1.

func image(name string) string { return "registry.example/" + name + ":1" }

func template(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image(name)}}},
	}
}

func meta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 2, Labels: map[string]string{"app": name}}
}

func deployment(ns, name string, replicas int32, opts ...func(*appsv1.Deployment)) appsv1.Deployment {
	d := appsv1.Deployment{
		ObjectMeta: meta(ns, name),
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas, Template: template(name)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func statefulSet(ns, name string, replicas int32, opts ...func(*appsv1.StatefulSet)) appsv1.StatefulSet {
	s := appsv1.StatefulSet{
		ObjectMeta: meta(ns, name),
		Spec:       appsv1.StatefulSetSpec{Replicas: &replicas, Template: template(name)},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas, CurrentRevision: name + "-1", UpdateRevision: name + "-1"},
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func daemonSet(ns, name string, desired int32, opts ...func(*appsv1.DaemonSet)) appsv1.DaemonSet {
	d := appsv1.DaemonSet{
		ObjectMeta: meta(ns, name),
		Spec:       appsv1.DaemonSetSpec{Template: template(name)},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: desired, CurrentNumberScheduled: desired,
			UpdatedNumberScheduled: desired, NumberReady: desired, NumberAvailable: desired},
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

// node reports the given images (a complete list when 1..49 of them).
func node(name string, images ...string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, img := range images {
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: []string{img}})
	}
	return n
}

// fullNode reports NodeStatusMaxImages unrelated images plus the given ones
// at the front: its list is capped, so absence proves nothing.
func fullNode(name string, images ...string) corev1.Node {
	n := node(name, images...)
	for i := len(images); i < NodeStatusMaxImages; i++ {
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: []string{fmt.Sprintf("registry.example/filler-%d:1", i)}})
	}
	return n
}

func pdb(ns, name, app string, allowed int32) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, CurrentHealthy: 2, DesiredHealthy: 2},
	}
}

func unavailable(d *appsv1.Deployment) { d.Status.AvailableReplicas--; d.Status.ReadyReplicas-- }
func paused(d *appsv1.Deployment)      { d.Spec.Paused = true }
func dsRolling(d *appsv1.DaemonSet)    { d.Status.UpdatedNumberScheduled--; d.Status.NumberReady-- }
func systemNodeCritical(d *appsv1.Deployment) {
	d.Spec.Template.Spec.PriorityClassName = "system-node-critical"
}
func runAnnotated(run string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Annotations = map[string]string{RunAnnotation: run} }
}
func nodeSelector(key, value string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.NodeSelector = map[string]string{key: value} }
}

// cluster builds a snapshot; nodes default to three with every fixture
// image the test names.
type cluster struct {
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	daemonSets   []appsv1.DaemonSet
	nodes        []corev1.Node
	pdbs         []policyv1.PodDisruptionBudget
	// calico: the cluster serves Calico's BGP kinds (else they are
	// recorded as not served, as Read records them).
	calico     bool
	bgpConfigs []snapshot.BGPConfiguration
	bgpPeers   []snapshot.BGPPeer
}

func (c cluster) snapshot() *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Deployments: c.deployments, StatefulSets: c.statefulSets, DaemonSets: c.daemonSets,
		Nodes: c.nodes, PodDisruptionBudgets: c.pdbs,
		BGPConfigurations: c.bgpConfigs, BGPPeers: c.bgpPeers,
	}
	if !c.calico {
		for _, k := range calicoKinds {
			s.Info.Skipped = append(s.Info.Skipped, snapshot.Skipped{Resource: k, Reason: notServed})
		}
	}
	return s
}
