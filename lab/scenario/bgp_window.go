package scenario

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// BGPWindowScenario is the name of the scenario that serves Calico's BGP
// kinds with incident 003's peerings: restart's e2e lab applies it alone.
const BGPWindowScenario = "003-bgp-window"

var _ = register(Scenario{Name: BGPWindowScenario, Incident: "003", apply: bgpWindow,
	Summary: "Calico's BGPConfiguration and BGPPeer kinds served: two core-router peers, no node mesh, no graceful-restart time set (BIRD's default 120s), next to typha's image on one node"})

// bgpWindow registers Calico's BGP kinds, then creates the peerings once
// the API server serves them (a CRD is not served the moment it exists).
// It adds no node and no workload, so it can join any lab.
func bgpWindow(ctx context.Context, e *env) error {
	if err := e.apply.applyFile(ctx, "003-bgp-window-crds.yaml", nil); err != nil {
		return err
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = e.apply.applyFile(ctx, "003-bgp-window.yaml", nil)
		if last != nil {
			e.apply.mapper.Reset()
		}
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("create the BGP peerings: %w (last: %v)", err, last)
	}
	return nil
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
