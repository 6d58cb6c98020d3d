package capacity

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// ZoneLabel is the well-known label of a node's zone.
const ZoneLabel = "topology.kubernetes.io/zone"

// ReplicasOnOneNode is the replicas-on-one-node check.
var ReplicasOnOneNode = &check.Check{
	ID:        "replicas-on-one-node",
	Title:     "Every ready replica of a workload on one node (or one zone)",
	Category:  "capacity",
	Severity:  check.Medium,
	Incidents: []string{"163"},
	Reads:     []snapshot.Resource{snapshot.Pods, snapshot.Nodes},
	Optional:  []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets},
	Doc: `Groups the ready pods of Deployments and StatefulSets by node and reports
workloads with two or more ready replicas that all run on the same node
while the cluster has other ready, schedulable nodes (nodes with a
NoSchedule or NoExecute taint, such as control-plane nodes and dedicated
pools, do not count): the replicas protect against a crashing process, not
against losing the node. When nodes carry the topology.kubernetes.io/zone
label and span two zones or more, a workload whose replicas are on several
nodes but all in one zone is reported too.

The scheduler spreads replicas only as a preference, and packs them where
resources are free: in incident 163 it placed several high-CPU replicas of
the API on one node, the node crashed under them, and the site went down
with it; then the cycle repeated on the next node. Critical system
workloads (kube-system, system-*-critical priorities) are reported by
critical-single-replica instead; DaemonSets, Jobs and workloads in the
middle of a rollout are left out.

Severity: medium for one node, low for one zone.`,
	Remediation: `Add topologySpreadConstraints on kubernetes.io/hostname (and on
topology.kubernetes.io/zone) with whenUnsatisfiable: ScheduleAnyway, or a
preferred pod anti-affinity, to the pod template; then restart the workload
(kubectl rollout restart) so that the scheduler places the replicas again.`,
	Evidence: []check.EvidenceKey{
		{Name: "readyReplicas", Doc: "ready pods of the workload"},
		{Name: "node", Doc: "the node they all run on (one-node findings)"},
		{Name: "zone", Doc: "the zone they all run in (one-zone findings)"},
		{Name: "schedulableNodes", Doc: "ready, schedulable nodes in the cluster"},
		{Name: "zones", Doc: "zones among those nodes"},
	},
	Run: runReplicasOnOneNode,
}

func runReplicasOnOneNode(p *check.Pass) error {
	zoneOf := map[string]string{}
	var zones []string
	schedulable := 0
	for _, n := range p.Snapshot.Nodes {
		zoneOf[n.Name] = n.Labels[ZoneLabel]
		if n.Spec.Unschedulable || n.DeletionTimestamp != nil || !workload.NodeReady(&n) || repels(&n) {
			continue
		}
		schedulable++
		if z := n.Labels[ZoneLabel]; z != "" && !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	slices.Sort(zones)
	if schedulable < 2 {
		return nil
	}
	lookup := workloadIndex(p.Snapshot)
	// Rollouts in progress move pods: judge them once they are done.
	inRollout := func(o check.Object) bool {
		w, ok := lookup(o)
		return ok && !w.Progress.Complete
	}
	var ready []*corev1.Pod
	for i := range p.Snapshot.Pods {
		pod := &p.Snapshot.Pods[i]
		if !workload.PodReady(pod) || pod.Spec.NodeName == "" || workload.CriticalPod(pod) {
			continue
		}
		if o := ownerOf(pod); o.Kind == workload.Deployment || o.Kind == workload.StatefulSet {
			ready = append(ready, pod)
		}
	}
	for _, g := range groupByOwner(ready) {
		if len(g.pods) < 2 {
			continue
		}
		node, zone := g.pods[0].Spec.NodeName, zoneOf[g.pods[0].Spec.NodeName]
		oneNode, oneZone := true, len(zones) >= 2 && zone != ""
		for _, pod := range g.pods[1:] {
			oneNode = oneNode && pod.Spec.NodeName == node
			oneZone = oneZone && zoneOf[pod.Spec.NodeName] == zone
		}
		if !oneNode && !oneZone || inRollout(g.owner) {
			continue
		}
		ev := map[string]any{"readyReplicas": len(g.pods), "schedulableNodes": schedulable}
		if len(zones) > 0 {
			ev["zones"] = zones
		}
		obj := []check.Object{g.owner}
		switch {
		case oneNode:
			ev["node"] = node
			p.Report(check.Finding{
				Severity: check.Medium,
				Title:    fmt.Sprintf("%s: all %d ready replicas on node %s", g.name(), len(g.pods), node),
				Message: fmt.Sprintf("All %d ready replicas of %s run on node %s, although %d nodes are schedulable: losing that "+
					"node (a crash, a drain, a kernel panic under their own load) takes every replica at once (incident 163).",
					len(g.pods), g.name(), node, schedulable),
				Objects:  obj,
				Evidence: ev,
			})
		default:
			ev["zone"] = zone
			p.Report(check.Finding{
				Severity: check.Low,
				Title:    fmt.Sprintf("%s: all %d ready replicas in zone %s", g.name(), len(g.pods), zone),
				Message: fmt.Sprintf("All %d ready replicas of %s run in zone %s, although the cluster's nodes span %d zones: a "+
					"zone outage takes every replica at once (incident 163).", len(g.pods), g.name(), zone, len(zones)),
				Objects:  obj,
				Evidence: ev,
			})
		}
	}
	return nil
}

// repels reports whether a node has a NoSchedule or NoExecute taint: a
// control-plane node or a dedicated pool is no place to spread application
// replicas to (the pods' tolerations are not in the snapshot).
func repels(n *corev1.Node) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	})
}
