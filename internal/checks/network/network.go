// Package network checks cluster DNS, Service routing, address space, node
// conditions and the control plane's own liveness.
package network

import "github.com/premortem/premortem/internal/check"

// All are the package's checks, in catalog order.
var All = []*check.Check{
	SystemServiceNoEndpoints,
	DNSReplicas,
	ServiceCIDRFull,
	LeaderLeaseStale,
	NodePressure,
	KubeletSkew,
	NodesCordoned,
}
