package capacity

import (
	"cmp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/check"
)

// ownerOf names the workload that runs a pod: its controller, with a
// ReplicaSet named <deployment>-<pod-template-hash> taken for that
// Deployment (the hash is the pod's label, so no ReplicaSet need be read).
// A pod without a controller is its own owner.
func ownerOf(p *corev1.Pod) check.Object {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return check.Object{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
	}
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	o := check.Object{Group: gv.Group, Kind: ref.Kind, Namespace: p.Namespace, Name: ref.Name}
	if ref.Kind == "ReplicaSet" {
		if hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			o.Kind, o.Name = "Deployment", strings.TrimSuffix(ref.Name, "-"+hash)
		}
	}
	return o
}

// podGroup is the pods of one owner that a check found something on.
type podGroup struct {
	owner check.Object
	pods  []*corev1.Pod
}

// groupByOwner groups pods by ownerOf, sorted by owner.
func groupByOwner(pods []*corev1.Pod) []*podGroup {
	byOwner := map[check.Object]*podGroup{}
	var out []*podGroup
	for _, p := range pods {
		o := ownerOf(p)
		g := byOwner[o]
		if g == nil {
			g = &podGroup{owner: o}
			byOwner[o] = g
			out = append(out, g)
		}
		g.pods = append(g.pods, p)
	}
	slices.SortFunc(out, func(a, b *podGroup) int {
		return cmp.Or(strings.Compare(a.owner.Namespace, b.owner.Namespace), strings.Compare(a.owner.Kind, b.owner.Kind),
			strings.Compare(a.owner.Name, b.owner.Name))
	})
	return out
}

// objects names the owner (unless the group is one bare pod), then at most
// n of its pods.
func (g *podGroup) objects(n int) []check.Object {
	var out []check.Object
	if g.owner.Kind != "Pod" {
		out = append(out, g.owner)
	}
	for _, p := range check.First(g.pods, n) {
		out = append(out, check.Object{Kind: "Pod", Namespace: p.Namespace, Name: p.Name})
	}
	return out
}

// podNames are the names of the group's pods, sorted.
func (g *podGroup) podNames() []string {
	var out []string
	for _, p := range g.pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// name renders "Deployment ns/name" for titles.
func (g *podGroup) name() string { return g.owner.String() }

// live reports whether a pod is still meant to run: not finished and not
// being deleted.
func live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}
