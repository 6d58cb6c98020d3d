// Package restart plans and runs a cluster-wide rolling restart that cannot
// take the network down (incident 003): application workloads first, in
// waves; then critical workloads one at a time, servers before their
// clients, each gated on what made the incident possible.
//
// The planner (Plan) is a pure function of a *snapshot.Snapshot; the
// executor (Execute) is the only part that talks to a cluster.
package restart

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kind is a workload kind premortem restarts, lower case as in an ID.
type Kind string

// The kinds a rollout restart applies to.
const (
	Deployment  Kind = "deployment"
	StatefulSet Kind = "statefulset"
	DaemonSet   Kind = "daemonset"
)

// Kinds lists every restartable kind in the order the plan prints them.
var Kinds = []Kind{Deployment, StatefulSet, DaemonSet}

// ParseKind accepts the names kubectl accepts for the three kinds.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "deployment", "deployments", "deploy", "deployment.apps":
		return Deployment, nil
	case "statefulset", "statefulsets", "sts", "statefulset.apps":
		return StatefulSet, nil
	case "daemonset", "daemonsets", "ds", "daemonset.apps":
		return DaemonSet, nil
	}
	return "", fmt.Errorf("unknown kind %q (want deployment, statefulset or daemonset)", s)
}

// Ref names one workload. Its String form, kind/namespace/name, is the ID
// that --force takes.
type Ref struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r Ref) String() string { return string(r.Kind) + "/" + r.Namespace + "/" + r.Name }

// ParseRef parses kind/namespace/name.
func ParseRef(s string) (Ref, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return Ref{}, fmt.Errorf("%q: want kind/namespace/name, e.g. deployment/kube-system/calico-typha", s)
	}
	k, err := ParseKind(parts[0])
	if err != nil {
		return Ref{}, fmt.Errorf("%q: %w", s, err)
	}
	return Ref{Kind: k, Namespace: parts[1], Name: parts[2]}, nil
}

// workload is the kind-independent view of a Deployment, StatefulSet or
// DaemonSet that the planner works on.
type workload struct {
	ref      Ref
	meta     *metav1.ObjectMeta
	template *corev1.PodTemplateSpec
	// replicas is what a finished rollout must have: spec.replicas, or a
	// DaemonSet's desiredNumberScheduled.
	replicas int32
	progress Progress
	paused   bool
	// onDelete: the update strategy replaces pods only when they are
	// deleted, so patching the template restarts nothing (and premortem
	// never deletes pods).
	onDelete bool
	// partition: a StatefulSet rolling update that stops at this ordinal.
	partition int32
}

func fromDeployment(d *appsv1.Deployment) workload {
	return workload{
		ref:      Ref{Kind: Deployment, Namespace: d.Namespace, Name: d.Name},
		meta:     &d.ObjectMeta,
		template: &d.Spec.Template,
		replicas: replicasOf(d.Spec.Replicas),
		progress: DeploymentProgress(d),
		paused:   d.Spec.Paused,
	}
}

func fromStatefulSet(s *appsv1.StatefulSet) workload {
	w := workload{
		ref:      Ref{Kind: StatefulSet, Namespace: s.Namespace, Name: s.Name},
		meta:     &s.ObjectMeta,
		template: &s.Spec.Template,
		replicas: replicasOf(s.Spec.Replicas),
		progress: StatefulSetProgress(s),
		onDelete: s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType,
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		w.partition = *ru.Partition
	}
	return w
}

func fromDaemonSet(d *appsv1.DaemonSet) workload {
	return workload{
		ref:      Ref{Kind: DaemonSet, Namespace: d.Namespace, Name: d.Name},
		meta:     &d.ObjectMeta,
		template: &d.Spec.Template,
		replicas: d.Status.DesiredNumberScheduled,
		progress: DaemonSetProgress(d),
		onDelete: d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType,
	}
}

// replicasOf applies the API default of 1 to a nil spec.replicas.
func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// Progress is how far a workload's rollout has got: the numbers
// `kubectl rollout status` looks at.
type Progress struct {
	// Complete: the controller has seen the latest spec and every pod is
	// updated, ready and available, with no old pod left.
	Complete bool `json:"complete"`
	// Failed: the rollout will not finish without help (a Deployment past
	// its progressDeadlineSeconds).
	Failed bool `json:"failed,omitempty"`
	// Detail is the numbers, e.g. "2/3 updated, 3/3 ready, 2/3 available".
	Detail string `json:"detail"`
}

// DeploymentProgress reports a Deployment's rollout, as kubectl rollout
// status does: observedGeneration caught up, updated == available == ready
// == spec.replicas and no old replicas left.
func DeploymentProgress(d *appsv1.Deployment) Progress {
	want := replicasOf(d.Spec.Replicas)
	st := d.Status
	p := Progress{Detail: fmt.Sprintf("%d/%d updated, %d/%d ready, %d/%d available", st.UpdatedReplicas, want, st.ReadyReplicas, want, st.AvailableReplicas, want)}
	if st.ObservedGeneration < d.Generation {
		p.Detail = "controller has not seen the latest spec; " + p.Detail
		return p
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			p.Failed = true
			p.Detail = "progress deadline exceeded: " + p.Detail
			return p
		}
	}
	if st.Replicas > st.UpdatedReplicas {
		p.Detail += fmt.Sprintf(", %d old", st.Replicas-st.UpdatedReplicas)
	}
	p.Complete = st.UpdatedReplicas == want && st.Replicas == want && st.ReadyReplicas >= want && st.AvailableReplicas >= want
	return p
}

// StatefulSetProgress reports a StatefulSet's rollout: observedGeneration
// caught up, every replica updated, ready and available, and the current
// revision equal to the update revision.
func StatefulSetProgress(s *appsv1.StatefulSet) Progress {
	want := replicasOf(s.Spec.Replicas)
	st := s.Status
	p := Progress{Detail: fmt.Sprintf("%d/%d updated, %d/%d ready, %d/%d available", st.UpdatedReplicas, want, st.ReadyReplicas, want, st.AvailableReplicas, want)}
	if st.ObservedGeneration < s.Generation {
		p.Detail = "controller has not seen the latest spec; " + p.Detail
		return p
	}
	revisionDone := st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision
	if !revisionDone {
		p.Detail += ", revision " + st.CurrentRevision + " -> " + st.UpdateRevision
	}
	p.Complete = revisionDone && st.UpdatedReplicas == want && st.Replicas == want && st.ReadyReplicas >= want && st.AvailableReplicas >= want
	return p
}

// DaemonSetProgress reports a DaemonSet's rollout: observedGeneration caught
// up and updatedNumberScheduled == numberReady == numberAvailable ==
// desiredNumberScheduled.
func DaemonSetProgress(d *appsv1.DaemonSet) Progress {
	st := d.Status
	want := st.DesiredNumberScheduled
	p := Progress{Detail: fmt.Sprintf("%d/%d updated, %d/%d ready, %d/%d available", st.UpdatedNumberScheduled, want, st.NumberReady, want, st.NumberAvailable, want)}
	if st.ObservedGeneration < d.Generation {
		p.Detail = "controller has not seen the latest spec; " + p.Detail
		return p
	}
	p.Complete = st.UpdatedNumberScheduled == want && st.NumberReady == want && st.NumberAvailable == want
	return p
}
