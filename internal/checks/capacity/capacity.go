// Package capacity checks resources, limits, eviction, disruption budgets,
// autoscaling, quotas and rollouts: the conditions under which workloads
// stop fitting, get killed, or cannot move.
package capacity

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{
	OOMKilled,
	PodsUnschedulable,
	PDBBlocksEviction,
	HPACannotScale,
	QuotaNearLimit,
	RolloutStuck,
	LivenessHairTrigger,
	ReplicasOnOneNode,
	CriticalNoPriority,
	CNIHeadroom,
}
