// Package objects checks how many objects a cluster holds and how fast they
// accumulate: Jobs without a TTL, one Helm release per script run, and the
// NetworkPolicies each release brings (incident 001).
package objects

import (
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

// eachObject calls fn for every object of the snapshot with its resource and
// the resource's kubectl name, skipping kinds the snapshot did not read. It
// visits in place: a copy of 150,000 pods' worth of references per check
// would cost more than the checks.
func eachObject(snap *snapshot.Snapshot, fn func(r snapshot.Resource, name string, m *metav1.ObjectMeta)) {
	eachKind(snap, func(r snapshot.Resource, name string, n int, meta func(int) *metav1.ObjectMeta) {
		for i := range n {
			fn(r, name, meta(i))
		}
	})
}

// eachKind calls fn once for each kind eachObject visits, with the number
// of its objects and their metadata by index, so that a caller can do its
// per-kind work (map look-ups) once per kind rather than per object.
func eachKind(snap *snapshot.Snapshot, fn func(r snapshot.Resource, name string, n int, meta func(int) *metav1.ObjectMeta)) {
	visit := func(r snapshot.Resource, n int, meta func(int) *metav1.ObjectMeta) {
		if _, skipped := snap.Info.SkipReason(r); skipped {
			return
		}
		fn(r, r.Name(), n, meta)
	}
	visit(snapshot.Namespaces, len(snap.Namespaces), func(i int) *metav1.ObjectMeta { return &snap.Namespaces[i].ObjectMeta })
	visit(snapshot.Nodes, len(snap.Nodes), func(i int) *metav1.ObjectMeta { return &snap.Nodes[i].ObjectMeta })
	visit(snapshot.Pods, len(snap.Pods), func(i int) *metav1.ObjectMeta { return &snap.Pods[i].ObjectMeta })
	visit(snapshot.Services, len(snap.Services), func(i int) *metav1.ObjectMeta { return &snap.Services[i].ObjectMeta })
	visit(snapshot.EndpointSlices, len(snap.EndpointSlices), func(i int) *metav1.ObjectMeta { return &snap.EndpointSlices[i].ObjectMeta })
	visit(snapshot.Deployments, len(snap.Deployments), func(i int) *metav1.ObjectMeta { return &snap.Deployments[i].ObjectMeta })
	visit(snapshot.DaemonSets, len(snap.DaemonSets), func(i int) *metav1.ObjectMeta { return &snap.DaemonSets[i].ObjectMeta })
	visit(snapshot.StatefulSets, len(snap.StatefulSets), func(i int) *metav1.ObjectMeta { return &snap.StatefulSets[i].ObjectMeta })
	visit(snapshot.Jobs, len(snap.Jobs), func(i int) *metav1.ObjectMeta { return &snap.Jobs[i].ObjectMeta })
	visit(snapshot.PodDisruptionBudgets, len(snap.PodDisruptionBudgets), func(i int) *metav1.ObjectMeta { return &snap.PodDisruptionBudgets[i].ObjectMeta })
	visit(snapshot.APIServices, len(snap.APIServices), func(i int) *metav1.ObjectMeta { return &snap.APIServices[i].ObjectMeta })
	for _, r := range metadataResources(snap) {
		list := snap.Metadata[r]
		visit(r, len(list), func(i int) *metav1.ObjectMeta { return &list[i].ObjectMeta })
	}
}

// metadataResources returns the keys of snap.Metadata in a stable order.
func metadataResources(snap *snapshot.Snapshot) []snapshot.Resource {
	rs := make([]snapshot.Resource, 0, len(snap.Metadata))
	for r := range snap.Metadata {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b snapshot.Resource) int { return strings.Compare(a.Name(), b.Name()) })
	return rs
}

// counts holds object counts per resource, cluster-wide and per namespace.
type counts struct {
	total map[string]int
	perNS map[string]map[string]int
	res   map[string]snapshot.Resource
}

// count counts the snapshot's objects. Kinds in read (those the check asked
// the read path for) and metadata kinds present count as read even when
// empty, so growth from zero is seen; skipped kinds are absent.
func count(snap *snapshot.Snapshot, read []snapshot.Resource) counts {
	c := counts{total: map[string]int{}, perNS: map[string]map[string]int{}, res: map[string]snapshot.Resource{}}
	for r := range snap.Metadata {
		read = append(read, r)
	}
	for _, r := range read {
		if _, skipped := snap.Info.SkipReason(r); !skipped {
			c.total[r.Name()] += 0
			c.res[r.Name()] = r
		}
	}
	eachKind(snap, func(r snapshot.Resource, k string, n int, meta func(int) *metav1.ObjectMeta) {
		if n == 0 {
			return
		}
		c.res[k] = r
		c.total[k] += n
		byNS := c.perNS[k]
		for i := range n {
			if ns := meta(i).Namespace; ns != "" {
				if byNS == nil {
					byNS = map[string]int{}
					c.perNS[k] = byNS
				}
				byNS[ns]++
			}
		}
	})
	// Kinds not read but counted (Info.Counts: one limit=1 LIST each,
	// custom resources included): cluster-wide totals only.
	for _, n := range snap.Info.Counts {
		if k := n.Resource.Name(); !hasKey(c.total, k) {
			c.total[k], c.res[k] = int(n.Count), n.Resource
		}
	}
	return c
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// Helm labels and annotations.
const (
	labelChart      = "helm.sh/chart"
	labelInstance   = "app.kubernetes.io/instance"
	annoReleaseName = "meta.helm.sh/release-name"
)

// releaseOf returns the Helm release an object belongs to, from Helm's own
// annotation or the conventional instance label (the latter only together
// with a helm.sh/chart label, since other tools set it too).
func releaseOf(m *metav1.ObjectMeta) string {
	if r := m.Annotations[annoReleaseName]; r != "" {
		return r
	}
	if m.Labels[labelChart] != "" {
		return m.Labels[labelInstance]
	}
	return ""
}

var chartVersion = regexp.MustCompile(`^(.+?)-v?[0-9]+\.[0-9]+.*$`)

// chartName strips the version from a helm.sh/chart label ("mwscript-0.1.2" -> "mwscript").
func chartName(label string) string {
	if m := chartVersion.FindStringSubmatch(label); m != nil {
		return m[1]
	}
	return label
}

// nameStem strips the per-run suffixes ("-20241003", "-a1b2c3") from a
// release name, so releases of one script group together when their chart
// is unknown.
func nameStem(name string) string {
	parts := strings.Split(name, "-")
	for len(parts) > 1 && strings.ContainsAny(parts[len(parts)-1], "0123456789") {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "-")
}
