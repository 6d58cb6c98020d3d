package capacity

import (
	"cmp"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// allWorkloads are the snapshot's Deployments, StatefulSets and DaemonSets,
// ordered by namespace, name and kind.
func allWorkloads(s *snapshot.Snapshot) []workload.Workload {
	var ws []workload.Workload
	for i := range s.Deployments {
		ws = append(ws, workload.FromDeployment(&s.Deployments[i]))
	}
	for i := range s.StatefulSets {
		ws = append(ws, workload.FromStatefulSet(&s.StatefulSets[i]))
	}
	for i := range s.DaemonSets {
		ws = append(ws, workload.FromDaemonSet(&s.DaemonSets[i]))
	}
	slices.SortFunc(ws, func(a, b workload.Workload) int {
		return cmp.Or(strings.Compare(a.Meta.Namespace, b.Meta.Namespace), strings.Compare(a.Meta.Name, b.Meta.Name), strings.Compare(a.Kind, b.Kind))
	})
	return ws
}

// workloadIndex returns a lookup of the Deployment, StatefulSet or
// DaemonSet an Object (as ownerOf names it) points at. It indexes names
// only and views a workload (its rollout progress included) when asked, so
// a check that looks up a few owners does not pay for the thousands it
// does not.
func workloadIndex(s *snapshot.Snapshot) func(check.Object) (workload.Workload, bool) {
	index := map[check.Object]int{}
	for i, d := range s.Deployments {
		index[check.Object{Group: "apps", Kind: workload.Deployment, Namespace: d.Namespace, Name: d.Name}] = i
	}
	for i, st := range s.StatefulSets {
		index[check.Object{Group: "apps", Kind: workload.StatefulSet, Namespace: st.Namespace, Name: st.Name}] = i
	}
	for i, ds := range s.DaemonSets {
		index[check.Object{Group: "apps", Kind: workload.DaemonSet, Namespace: ds.Namespace, Name: ds.Name}] = i
	}
	return func(o check.Object) (workload.Workload, bool) {
		i, ok := index[o]
		if !ok {
			return workload.Workload{}, false
		}
		switch o.Kind {
		case workload.Deployment:
			return workload.FromDeployment(&s.Deployments[i]), true
		case workload.StatefulSet:
			return workload.FromStatefulSet(&s.StatefulSets[i]), true
		}
		return workload.FromDaemonSet(&s.DaemonSets[i]), true
	}
}
