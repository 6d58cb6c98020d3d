// Package admission checks what stands between a request and the API
// server's storage: admission webhooks and their backends, and the
// certificates they are reached with.
package admission

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{BackendDown, BlocksRecovery, SlowOnLeases, CABundleExpiry, DeleteFanOut}
