// Package redundancy checks that the components a cluster cannot run without
// survive losing a pod or a node: single replicas, missing
// PodDisruptionBudgets, replicas packed on one node, and Calico Typha sized
// against the node count (incident 003).
package redundancy

import (
	"cmp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/snapshot"
)

// workload is a Deployment or StatefulSet, reduced to what these checks need.
type workload struct {
	kind      string // Deployment, StatefulSet
	meta      *metav1.ObjectMeta
	replicas  int32
	ready     int32
	selector  *metav1.LabelSelector
	template  corev1.PodTemplateSpec
	readyPods []*corev1.Pod
}

// workloads returns the Deployments and StatefulSets keep accepts, sorted,
// with their ready pods attached. Filtering first keeps the pod walk cheap:
// these checks care about a handful of system workloads among thousands.
func workloads(snap *snapshot.Snapshot, keep func(*workload) bool) []*workload {
	var out []*workload
	add := func(w *workload) {
		if keep(w) {
			out = append(out, w)
		}
	}
	for i := range snap.Deployments {
		d := &snap.Deployments[i]
		add(&workload{kind: "Deployment", meta: &d.ObjectMeta, replicas: replicas(d.Spec.Replicas),
			ready: d.Status.ReadyReplicas, selector: d.Spec.Selector, template: d.Spec.Template})
	}
	for i := range snap.StatefulSets {
		s := &snap.StatefulSets[i]
		add(&workload{kind: "StatefulSet", meta: &s.ObjectMeta, replicas: replicas(s.Spec.Replicas),
			ready: s.Status.ReadyReplicas, selector: s.Spec.Selector, template: s.Spec.Template})
	}
	slices.SortFunc(out, func(a, b *workload) int {
		return cmp.Or(strings.Compare(a.meta.Namespace, b.meta.Namespace), strings.Compare(a.meta.Name, b.meta.Name), strings.Compare(a.kind, b.kind))
	})
	if len(out) > 0 {
		attachPods(snap, out)
	}
	return out
}

// replicas applies the API default of 1.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func podReady(p *corev1.Pod) bool {
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

// attachPods finds each workload's ready pods: through the ReplicaSet owner
// chain when ReplicaSet metadata was read, by label selector otherwise.
func attachPods(snap *snapshot.Snapshot, ws []*workload) {
	rsOwner := map[[2]string]string{} // namespace/replicaset -> deployment
	haveRS := false
	_, rsSkipped := snap.Info.SkipReason(snapshot.ReplicaSets)
	if list, ok := snap.Metadata[snapshot.ReplicaSets]; ok && !rsSkipped {
		haveRS = true
		for _, rs := range list {
			if !inNamespaces(ws, rs.Namespace) {
				continue
			}
			for _, o := range rs.OwnerReferences {
				if o.Kind == "Deployment" {
					rsOwner[[2]string{rs.Namespace, rs.Name}] = o.Name
				}
			}
		}
	}
	byKey := map[[3]string]*workload{}
	// Deployments by namespace, with parsed selectors, for pods whose
	// ReplicaSet is unknown: parsing per pod would cost pods x workloads.
	type selected struct {
		w   *workload
		sel labels.Selector
	}
	byNS := map[string][]selected{}
	for _, w := range ws {
		byKey[[3]string{w.kind, w.meta.Namespace, w.meta.Name}] = w
		if w.kind != "Deployment" || w.selector == nil || haveRS {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(w.selector); err == nil && !sel.Empty() {
			byNS[w.meta.Namespace] = append(byNS[w.meta.Namespace], selected{w, sel})
		}
	}
	namespaces := map[string]bool{}
	for _, w := range ws {
		namespaces[w.meta.Namespace] = true
	}
	for i := range snap.Pods {
		pod := &snap.Pods[i]
		if !namespaces[pod.Namespace] || !podReady(pod) {
			continue
		}
		var owner *workload
		for _, o := range pod.OwnerReferences {
			switch o.Kind {
			case "StatefulSet":
				owner = byKey[[3]string{"StatefulSet", pod.Namespace, o.Name}]
			case "ReplicaSet":
				if d, ok := rsOwner[[2]string{pod.Namespace, o.Name}]; ok {
					owner = byKey[[3]string{"Deployment", pod.Namespace, d}]
				} else if !haveRS {
					for _, s := range byNS[pod.Namespace] {
						if s.sel.Matches(labels.Set(pod.Labels)) {
							owner = s.w
							break
						}
					}
				}
			}
		}
		if owner != nil {
			owner.readyPods = append(owner.readyPods, pod)
		}
	}
}

// nodesOf counts the workload's ready pods per node.
func (w *workload) nodesOf() map[string]int {
	m := map[string]int{}
	for _, p := range w.readyPods {
		m[p.Spec.NodeName]++
	}
	return m
}

// Typha reports whether a Deployment is Calico's Typha.
func Typha(d *appsv1.Deployment) bool { return typha(d.Name, d.Labels, d.Spec.Template.Labels) }

func typha(name string, labels, templateLabels map[string]string) bool {
	return labels["k8s-app"] == "calico-typha" || templateLabels["k8s-app"] == "calico-typha" ||
		strings.Contains(name, "typha")
}

func inNamespaces(ws []*workload, ns string) bool {
	for _, w := range ws {
		if w.meta.Namespace == ns {
			return true
		}
	}
	return false
}
