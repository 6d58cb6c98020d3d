// Package etcd checks what the cluster stores: objects near the size etcd
// accepts, revisions and records that pile up, and churn nothing bounds.
package etcd

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{}
