// Package workload is what premortem knows about Deployments, StatefulSets
// and DaemonSets, in one place so that the checks and restart mean the same
// thing: which workloads a cluster cannot run without, which one is Calico
// Typha and which are the pod network, how many pods a workload wants, how
// many are ready, and how far its rollout has got.
package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kinds as the API spells them.
const (
	Deployment  = "Deployment"
	StatefulSet = "StatefulSet"
	DaemonSet   = "DaemonSet"
)

// Workload is the kind-independent view of a Deployment, StatefulSet or
// DaemonSet. Its pointers point into the object it was made from.
type Workload struct {
	Kind     string
	Meta     *metav1.ObjectMeta
	Template *corev1.PodTemplateSpec
	Selector *metav1.LabelSelector
	Counts   Counts
	Progress Progress
	// Paused: a Deployment whose controller does not roll its pods.
	Paused bool
	// OnDelete: the update strategy replaces pods only when they are
	// deleted, so changing the template restarts nothing.
	OnDelete bool
	// Partition: a StatefulSet rolling update that stops at this ordinal.
	Partition int32
}

// Counts are a workload's pods as its controller last counted them.
type Counts struct {
	// Desired is what a finished rollout has: spec.replicas (API default
	// 1), or a DaemonSet's desiredNumberScheduled.
	Desired int32
	// Current is every pod, of any revision: status.replicas, or a
	// DaemonSet's currentNumberScheduled.
	Current   int32
	Updated   int32
	Ready     int32
	Available int32
}

// Replicas applies the API default of 1 to a nil replica count
// (spec.replicas, a Job's spec.parallelism).
func Replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// DeploymentCounts counts a Deployment's pods.
func DeploymentCounts(d *appsv1.Deployment) Counts {
	st := d.Status
	return Counts{Desired: Replicas(d.Spec.Replicas), Current: st.Replicas, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas, Available: st.AvailableReplicas}
}

// StatefulSetCounts counts a StatefulSet's pods.
func StatefulSetCounts(s *appsv1.StatefulSet) Counts {
	st := s.Status
	return Counts{Desired: Replicas(s.Spec.Replicas), Current: st.Replicas, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas, Available: st.AvailableReplicas}
}

// DaemonSetCounts counts a DaemonSet's pods.
func DaemonSetCounts(d *appsv1.DaemonSet) Counts {
	st := d.Status
	return Counts{Desired: st.DesiredNumberScheduled, Current: st.CurrentNumberScheduled, Updated: st.UpdatedNumberScheduled, Ready: st.NumberReady, Available: st.NumberAvailable}
}

// FromDeployment views d as a Workload.
func FromDeployment(d *appsv1.Deployment) Workload {
	return Workload{Kind: Deployment, Meta: &d.ObjectMeta, Template: &d.Spec.Template, Selector: d.Spec.Selector,
		Counts: DeploymentCounts(d), Progress: DeploymentProgress(d), Paused: d.Spec.Paused}
}

// FromStatefulSet views s as a Workload.
func FromStatefulSet(s *appsv1.StatefulSet) Workload {
	w := Workload{Kind: StatefulSet, Meta: &s.ObjectMeta, Template: &s.Spec.Template, Selector: s.Spec.Selector,
		Counts: StatefulSetCounts(s), Progress: StatefulSetProgress(s),
		OnDelete: s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		w.Partition = *ru.Partition
	}
	return w
}

// FromDaemonSet views d as a Workload.
func FromDaemonSet(d *appsv1.DaemonSet) Workload {
	return Workload{Kind: DaemonSet, Meta: &d.ObjectMeta, Template: &d.Spec.Template, Selector: d.Spec.Selector,
		Counts: DaemonSetCounts(d), Progress: DaemonSetProgress(d),
		OnDelete: d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType}
}

// PodReady reports whether a pod serves: running, not being deleted, and
// its Ready condition true.
func PodReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
