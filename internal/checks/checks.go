// Package checks is premortem's catalog: every check, in the order reports
// and docs list them. The checks themselves live in one package per area.
package checks

//go:generate go run ./gendocs -docs ../../docs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/access"
	"github.com/premortem/premortem/internal/checks/admission"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/checks/capacity"
	"github.com/premortem/premortem/internal/checks/daemonsets"
	"github.com/premortem/premortem/internal/checks/etcd"
	"github.com/premortem/premortem/internal/checks/namespaces"
	"github.com/premortem/premortem/internal/checks/network"
	"github.com/premortem/premortem/internal/checks/nodes"
	"github.com/premortem/premortem/internal/checks/objects"
	"github.com/premortem/premortem/internal/checks/redundancy"
	"github.com/premortem/premortem/internal/checks/rollout"
)

// catalog is ordered by the incidents' story: deletions held back by an
// unavailable API, unbounded growth, the CNI failing, redundancy, nodes;
// then the breadth areas, each package listing its own.
var catalog = slices.Concat(seeds, admission.All, network.All, capacity.All, rollout.All, etcd.All)

var seeds = []*check.Check{
	apiservice.Unavailable,
	namespaces.StuckTerminating,
	objects.Thresholds,
	objects.Growth,
	objects.JobsWithoutTTL,
	objects.HelmReleasePerRun,
	objects.NetworkPolicySprawl,
	daemonsets.Unready,
	redundancy.SingleReplica,
	redundancy.TyphaReplicas,
	nodes.VersionDrift,
	nodes.NotReady,
	access.ClusterWideNodeAgent,
	access.HardcodedAPIServerAddress,
	access.APIServerEndpointsMismatch,
	access.APFSharedPriorityLevel,
	access.APIServerCertNames,
}

// All returns every check, in catalog order. The slice is the caller's; the
// checks are shared and must not be modified.
func All() []*check.Check { return slices.Clone(catalog) }

// Lookup returns the check with the given ID.
func Lookup(id string) (*check.Check, bool) {
	for _, c := range catalog {
		if c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// Select returns the checks named in only (all if only is empty), minus those
// in skip, in catalog order. An unknown ID in either list is an error, so a
// typo does not silently run everything or skip nothing.
func Select(only, skip []string) ([]*check.Check, error) {
	known := map[string]bool{}
	for _, c := range catalog {
		known[c.ID] = true
	}
	var unknown []string
	for _, id := range append(slices.Clone(only), skip...) {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		ids := make([]string, len(catalog))
		for i, c := range catalog {
			ids[i] = c.ID
		}
		return nil, fmt.Errorf("unknown check ID(s) %s; known: %s", strings.Join(unknown, ", "), strings.Join(ids, ", "))
	}
	var out []*check.Check
	for _, c := range catalog {
		if (len(only) == 0 || slices.Contains(only, c.ID)) && !slices.Contains(skip, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}
