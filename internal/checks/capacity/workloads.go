package capacity

import (
	"cmp"
	"slices"
	"strings"

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
