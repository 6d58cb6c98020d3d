// Package redundancy checks that the components a cluster cannot run without
// survive losing a pod or a node: single replicas, missing
// PodDisruptionBudgets, replicas packed on one node, and Calico Typha sized
// against the node count (incident 003).
package redundancy

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// replicated is a Deployment or StatefulSet with its ready pods.
type replicated struct {
	workload.Workload
	readyPods []*corev1.Pod
}

// workloads returns the Deployments and StatefulSets keep accepts, sorted,
// with their ready pods attached. Filtering first keeps the pod walk cheap:
// these checks care about a handful of system workloads among thousands.
func workloads(snap *snapshot.Snapshot, keep func(*replicated) bool) []*replicated {
	var out []*replicated
	add := func(w workload.Workload) {
		if r := (&replicated{Workload: w}); keep(r) {
			out = append(out, r)
		}
	}
	for i := range snap.Deployments {
		add(workload.FromDeployment(&snap.Deployments[i]))
	}
	for i := range snap.StatefulSets {
		add(workload.FromStatefulSet(&snap.StatefulSets[i]))
	}
	slices.SortFunc(out, func(a, b *replicated) int {
		return cmp.Or(strings.Compare(a.Meta.Namespace, b.Meta.Namespace), strings.Compare(a.Meta.Name, b.Meta.Name), strings.Compare(a.Kind, b.Kind))
	})
	if len(out) > 0 {
		attachPods(snap, out)
	}
	return out
}

// attachPods finds each workload's ready pods: through the ReplicaSet owner
// chain when ReplicaSet metadata was read, by label selector otherwise.
func attachPods(snap *snapshot.Snapshot, ws []*replicated) {
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
	byKey := map[[3]string]*replicated{}
	// Deployments by namespace, with parsed selectors, for pods whose
	// ReplicaSet is unknown: parsing per pod would cost pods x workloads.
	type selected struct {
		w   *replicated
		sel labels.Selector
	}
	byNS := map[string][]selected{}
	for _, w := range ws {
		byKey[[3]string{w.Kind, w.Meta.Namespace, w.Meta.Name}] = w
		if w.Kind != workload.Deployment || w.Selector == nil || haveRS {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(w.Selector); err == nil && !sel.Empty() {
			byNS[w.Meta.Namespace] = append(byNS[w.Meta.Namespace], selected{w, sel})
		}
	}
	namespaces := map[string]bool{}
	for _, w := range ws {
		namespaces[w.Meta.Namespace] = true
	}
	for i := range snap.Pods {
		pod := &snap.Pods[i]
		if !namespaces[pod.Namespace] || !workload.PodReady(pod) {
			continue
		}
		var owner *replicated
		for _, o := range pod.OwnerReferences {
			switch o.Kind {
			case "StatefulSet":
				owner = byKey[[3]string{workload.StatefulSet, pod.Namespace, o.Name}]
			case "ReplicaSet":
				if d, ok := rsOwner[[2]string{pod.Namespace, o.Name}]; ok {
					owner = byKey[[3]string{workload.Deployment, pod.Namespace, d}]
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
func (w *replicated) nodesOf() map[string]int {
	m := map[string]int{}
	for _, p := range w.readyPods {
		m[p.Spec.NodeName]++
	}
	return m
}

// typha reports whether w is a Deployment of Calico's Typha.
func typha(w *replicated) bool {
	return w.Kind == workload.Deployment && w.Names().Typha()
}

func inNamespaces(ws []*replicated, ns string) bool {
	for _, w := range ws {
		if w.Meta.Namespace == ns {
			return true
		}
	}
	return false
}
