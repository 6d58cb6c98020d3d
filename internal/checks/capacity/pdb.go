package capacity

import (
	"fmt"

	policyv1 "k8s.io/api/policy/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// PDBBlocksEviction is the pdb-blocks-eviction check.
var PDBBlocksEviction = &check.Check{
	ID:        "pdb-blocks-eviction",
	Title:     "PodDisruptionBudget that allows no eviction even when every pod is healthy",
	Category:  "capacity",
	Severity:  check.High,
	Incidents: []string{"164", "165", "166", "167"},
	Reads:     []snapshot.Resource{snapshot.PodDisruptionBudgets},
	Doc: `Reads the status the disruption controller keeps on every
PodDisruptionBudget and reports two budgets that do not do their job:

  - one that allows no disruption although every pod it selects is healthy
    (currentHealthy >= expectedPods, disruptionsAllowed 0): minAvailable
    equal to the replicas (often minAvailable 1 over one replica, or 80% of
    one), or maxUnavailable 0. No pod it covers can ever be evicted, so
    every drain of a node that runs one (node upgrades, the cluster
    autoscaler's scale-down, maintenance) blocks until someone deletes the
    pod by hand;
  - one that selects no pod at all (expectedPods 0): a selector that matches
    nothing protects nothing, while its owners believe the workload is
    covered.

In incident 164 a chart's budget over a healthy webhook blocked an AKS
upgrade for an hour and left the cluster in a failed state; in incidents
165 and 166 one-replica Istio gateways and a Tekton webhook under
minAvailable budgets hung cluster upgrades for hours; in incident 167 the upgrade stalled with
nodes cordoned and the application down. A budget whose pods are unhealthy
right now (allowed 0 because some are not ready) is a different, passing
condition and is left alone, as is one the controller has not processed yet.

Severity: high for a budget that blocks every eviction, low for one that
selects nothing.`,
	Remediation: `Use maxUnavailable: 1 (or a minAvailable below the replica count) and run
at least two replicas of anything a budget protects, so that one pod can
always move. For a budget that selects nothing, fix its selector to match
the workload's pod labels or delete it.`,
	Evidence: []check.EvidenceKey{
		{Name: "minAvailable", Doc: "spec.minAvailable, if set"},
		{Name: "maxUnavailable", Doc: "spec.maxUnavailable, if set"},
		{Name: "expectedPods", Doc: "status.expectedPods: the pods the budget selects"},
		{Name: "currentHealthy", Doc: "status.currentHealthy"},
		{Name: "disruptionsAllowed", Doc: "status.disruptionsAllowed"},
	},
	Run: runPDBBlocksEviction,
}

func runPDBBlocksEviction(p *check.Pass) error {
	for _, pdb := range check.SortedByName(p.Snapshot.PodDisruptionBudgets) {
		st := pdb.Status
		// Not processed yet (or since the last change): its numbers are stale.
		if st.ObservedGeneration == 0 || st.ObservedGeneration < pdb.Generation {
			continue
		}
		ev := map[string]any{"expectedPods": st.ExpectedPods, "currentHealthy": st.CurrentHealthy, "disruptionsAllowed": st.DisruptionsAllowed}
		spec := budgetSpec(&pdb)
		if v := pdb.Spec.MinAvailable; v != nil {
			ev["minAvailable"] = v.String()
		}
		if v := pdb.Spec.MaxUnavailable; v != nil {
			ev["maxUnavailable"] = v.String()
		}
		obj := []check.Object{{Group: "policy", Kind: "PodDisruptionBudget", Namespace: pdb.Namespace, Name: pdb.Name}}
		name := pdb.Namespace + "/" + pdb.Name
		switch {
		case st.ExpectedPods == 0:
			p.Report(check.Finding{
				Severity: check.Low,
				Title:    fmt.Sprintf("PodDisruptionBudget %s selects no pods", name),
				Message: fmt.Sprintf("PodDisruptionBudget %s (%s) selects no pod: it protects nothing during drains, while its owners "+
					"may believe the workload is covered.", name, spec),
				Objects:  obj,
				Evidence: ev,
			})
		case st.DisruptionsAllowed == 0 && st.CurrentHealthy >= st.ExpectedPods:
			p.Report(check.Finding{
				Severity: check.High,
				Title:    fmt.Sprintf("PodDisruptionBudget %s allows no eviction of its %d healthy pod(s)", name, st.ExpectedPods),
				Message: fmt.Sprintf("PodDisruptionBudget %s (%s) allows 0 disruptions although all %d pods it selects are healthy: "+
					"none of them can ever be evicted. Every drain of a node that runs one (a node upgrade, the cluster "+
					"autoscaler's scale-down) blocks until someone deletes the pod by hand; managed upgrades fail after their "+
					"timeout (incidents 164, 165, 166, 167).", name, spec, st.ExpectedPods),
				Objects:  obj,
				Evidence: ev,
			})
		}
	}
	return nil
}

// budgetSpec renders the budget as kubectl shows it.
func budgetSpec(pdb *policyv1.PodDisruptionBudget) string {
	switch {
	case pdb.Spec.MinAvailable != nil:
		return "minAvailable " + pdb.Spec.MinAvailable.String()
	case pdb.Spec.MaxUnavailable != nil:
		return "maxUnavailable " + pdb.Spec.MaxUnavailable.String()
	}
	return "no minAvailable or maxUnavailable"
}
