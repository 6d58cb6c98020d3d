package capacity

import (
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

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
