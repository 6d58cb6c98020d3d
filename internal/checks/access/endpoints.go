package access

import (
	"fmt"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// APIServerEndpointsMismatch is the apiserver-endpoints-mismatch check.
var APIServerEndpointsMismatch = &check.Check{
	ID:        "apiserver-endpoints-mismatch",
	Title:     "The kubernetes Service's endpoints disagree with the API servers that exist",
	Category:  category,
	Severity:  check.High,
	Incidents: []string{"000"},
	Reads:     []snapshot.Resource{snapshot.Leases, snapshot.EndpointSlices},
	Doc: `Compares the addresses of the default/kubernetes EndpointSlices (where
in-cluster clients' traffic to kubernetes.default.svc goes) with the API
servers that exist, known from their identity Leases in kube-system
(label apiserver.kubernetes.io/identity=kube-apiserver, one per running
kube-apiserver, renewed every few seconds).

In incident 000 clients inside the cluster and outside it reached the API
servers through two load-balancing paths (the kubernetes Service's DNAT and
an outside load balancer) that sent them to different sets of API servers,
so new API servers took only part of the load and one old server saturated.

Fewer endpoints than API servers: in-cluster clients use only some of them
(medium). More endpoints than API servers: in-cluster clients send a share
of their requests to addresses where no API server answers (high). No
endpoints at all while API servers exist (medium): kube-apiserver runs with
--endpoint-reconciler-type=none and nobody maintains the endpoints, so
in-cluster clients cannot use kubernetes.default.svc and are pushed to
literal addresses (see hardcoded-apiserver-address); where in-cluster
clients are known to use another path this is expected, and the check can
be skipped. Expired identity Leases (an API server that stopped within the
last hour) are listed but not counted. Identity Leases exist from
Kubernetes 1.26 (APIServerIdentity); without them the check does not run.`,
	Remediation: `Let every kube-apiserver reconcile the endpoints (the default
--endpoint-reconciler-type=lease) and give each one an --advertise-address
in-cluster clients can reach. With the none reconciler, keep
default/kubernetes in step with the API servers whenever one is added or
removed, and make sure the outside load balancer and the Service point at
the same set.`,
	Evidence: []check.EvidenceKey{
		{Name: "apiServers", Doc: "Hostnames of the API servers holding a live identity Lease."},
		{Name: "endpoints", Doc: "Ready addresses of the default/kubernetes EndpointSlices."},
		{Name: "endpointSlices", Doc: "Names of those EndpointSlices."},
		{Name: "expiredLeases", Doc: "Identity Leases not renewed within their duration (API servers gone)."},
	},
	Run: runEndpointsMismatch,
}

func runEndpointsMismatch(p *check.Pass) error {
	snap := p.Snapshot
	leases := identityLeases(snap, p.Now)
	if len(leases) == 0 {
		return p.NotRun("no API server identity Leases in kube-system (Kubernetes < 1.26, or APIServerIdentity disabled)")
	}
	var live, expired []string
	for _, l := range leases {
		if l.Live {
			live = append(live, l.Hostname)
		} else {
			expired = append(expired, fmt.Sprintf("%s (last renewed %s ago)", l.Hostname, check.FormatAge(p.Now.Sub(l.Renewed))))
		}
	}
	addrs, slices := kubernetesEndpoints(snap)
	ev := map[string]any{"apiServers": live, "endpoints": addrs, "endpointSlices": slices}
	if len(expired) > 0 {
		ev["expiredLeases"] = expired
	}
	objects := []check.Object{obj("", "Service", "default", "kubernetes")}
	for _, s := range slices {
		objects = append(objects, obj("discovery.k8s.io", "EndpointSlice", "default", s))
	}
	servers := fmt.Sprintf("%s (%s)", check.Plural(len(live), "API server", "API servers"), strings.Join(live, ", "))
	if len(live) == 1 {
		servers += " holds"
	} else {
		servers += " hold"
	}
	switch {
	case len(live) == 0:
		return nil // every lease expired: nothing to compare with
	case len(addrs) == 0:
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("Service default/kubernetes has no endpoints; %s an identity Lease", servers),
			Message: fmt.Sprintf("%s an identity Lease, but the EndpointSlices of Service default/kubernetes list no address. "+
				"In-cluster clients that use kubernetes.default.svc (the default in-cluster configuration) cannot reach any API server; "+
				"the API servers likely run with --endpoint-reconciler-type=none and nobody maintains the endpoints. Clients then get "+
				"configured with literal addresses instead, which do not follow API servers as they come and go (incident 000).", servers),
			Objects: objects, Evidence: ev,
		})
	case len(addrs) < len(live):
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("Service default/kubernetes lists %d of %d API servers", len(addrs), len(live)),
			Message: fmt.Sprintf("%s an identity Lease, but Service default/kubernetes lists only %s (%s): in-cluster clients use only those, "+
				"while clients outside the cluster may be balanced over all of them. Two load-balancing paths to different sets of API servers "+
				"concentrated load on one of them in incident 000.", servers, check.Plural(len(addrs), "address", "addresses"), strings.Join(addrs, ", ")),
			Objects: objects, Evidence: ev,
		})
	case len(addrs) > len(live):
		p.Report(check.Finding{
			Severity: check.High,
			Title:    fmt.Sprintf("Service default/kubernetes lists %d addresses for %d API servers", len(addrs), len(live)),
			Message: fmt.Sprintf("Service default/kubernetes lists %s (%s) but only %s an identity Lease: some addresses have no API server "+
				"behind them, and in-cluster clients send a share of their requests there (timeouts, retries).",
				check.Plural(len(addrs), "address", "addresses"), strings.Join(addrs, ", "), servers),
			Objects: objects, Evidence: ev,
		})
	}
	return nil
}
