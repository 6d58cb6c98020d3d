// Package etcd checks what the cluster stores: objects near the size etcd
// accepts, revisions and records that pile up, and churn nothing bounds.
package etcd

import (
	"cmp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
)

// All are the package's checks, in catalog order.
var All = []*check.Check{ConfigMapNearSizeLimit, ReplicaSetHistory, HelmReleaseHistory, ChurnWithoutQuota}

// helmRecord returns the release a Helm release record belongs to, from
// its labels: Helm 3 labels owner=helm, name=<release>; Helm 2's Tiller
// OWNER=TILLER, NAME=<release>.
func helmRecord(labels map[string]string) (string, bool) {
	if labels["owner"] == "helm" && labels["name"] != "" {
		return labels["name"], true
	}
	if labels["OWNER"] == "TILLER" && labels["NAME"] != "" {
		return labels["NAME"], true
	}
	return "", false
}

// verb agrees a verb with a count: verb(1, "keeps", "keep").
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pile is what one keeper (a workload, a Helm release) keeps: its
// ReplicaSets, its release records.
type pile struct {
	kind, name string
	members    []*metav1.ObjectMeta
}

// piles are keepers by namespace, then by kind and name.
type piles map[string]map[[2]string]*pile

// add records m as kept by kind/name in namespace ns.
func (ps piles) add(ns, kind, name string, m *metav1.ObjectMeta) {
	if ps[ns] == nil {
		ps[ns] = map[[2]string]*pile{}
	}
	k := [2]string{kind, name}
	if ps[ns][k] == nil {
		ps[ns][k] = &pile{kind: kind, name: name}
	}
	ps[ns][k].members = append(ps[ns][k].members, m)
}

// over returns the keepers of ns that keep more than limit, most first.
func (ps piles) over(ns string, limit int) []*pile {
	var out []*pile
	for _, p := range ps[ns] {
		if len(p.members) > limit {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pile) int {
		return cmp.Or(cmp.Compare(len(b.members), len(a.members)), cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name))
	})
	return out
}
