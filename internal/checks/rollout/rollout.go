// Package rollout checks how workloads are updated and placed: update
// strategies, priority and preemption, DaemonSet coverage, images, and
// system workloads that crash-loop.
package rollout

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{
	SystemWorkloadDown,
	NetworkDaemonSetTaintGap,
	CriticalOutranked,
	CriticalRecreate,
	CriticalPullAlways,
}
