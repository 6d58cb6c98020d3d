package workload

import (
	"cmp"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/snapshot"
)

// All views the snapshot's Deployments, StatefulSets and DaemonSets as
// Workloads, ordered by namespace, name and kind.
func All(s *snapshot.Snapshot) []Workload {
	ws := make([]Workload, 0, len(s.Deployments)+len(s.StatefulSets)+len(s.DaemonSets))
	for i := range s.Deployments {
		ws = append(ws, FromDeployment(&s.Deployments[i]))
	}
	for i := range s.StatefulSets {
		ws = append(ws, FromStatefulSet(&s.StatefulSets[i]))
	}
	for i := range s.DaemonSets {
		ws = append(ws, FromDaemonSet(&s.DaemonSets[i]))
	}
	slices.SortFunc(ws, func(a, b Workload) int {
		return cmp.Or(strings.Compare(a.Meta.Namespace, b.Meta.Namespace), strings.Compare(a.Meta.Name, b.Meta.Name), strings.Compare(a.Kind, b.Kind))
	})
	return ws
}
