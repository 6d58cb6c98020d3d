package restart

import "github.com/premortem/premortem/internal/workload"

// Tiers order the critical phase: each layer of the pod network is
// restarted while the layers it stands on are settled and fully ready.
var tiers = map[workload.Role]int{
	// Typha: Calico's fan-out server between the API server and every
	// calico-node. Restarted first, alone, while calico-node is fully ready
	// and keeps its programmed dataplane and BGP sessions (felix reconnects
	// to another typha replica).
	workload.RoleTypha: 10,
	// calico-node: typha's clients. Restarted only once typha is fully
	// ready again, so every new calico-node gets its configuration at once
	// and re-peers BGP within the routers' graceful-restart window.
	// Restarting typha while calico-node pods were still initialising is
	// what took the network down in incident 003.
	workload.RoleCalicoNode: 20,
	// The rest of the pod network (operators, other CNIs).
	workload.RoleNetwork: 30,
	// Service routing, on top of the pod network.
	workload.RoleProxy: 40,
	// Name resolution, on top of service routing.
	workload.RoleDNS: 50,
}

// tierOther: everything else critical (kube-system, critical priority).
const tierOther = 60

// dependencies are the known server/client pairs (component names): neither
// side is restarted while the other is rolling or not fully ready
// (incident 003).
var dependencies = []struct{ server, client string }{
	{"calico-typha", "calico-node"},
}

// classification says whether a workload is critical, why, and where it
// goes in the critical phase.
type classification struct {
	workload.Criticality
	tier int
}

func classify(t *target) classification {
	c := classification{Criticality: t.Classify(), tier: tierOther}
	if tier, ok := tiers[c.Component.Role]; ok {
		c.tier = tier
	}
	return c
}
