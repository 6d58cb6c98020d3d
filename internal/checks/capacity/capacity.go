// Package capacity checks resources, limits, eviction, disruption budgets
// and rollouts: the conditions under which workloads stop fitting, get
// killed, or cannot move.
package capacity

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{}
