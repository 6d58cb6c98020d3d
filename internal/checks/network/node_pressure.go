package network

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// NodePressure is the node-pressure check.
var NodePressure = &check.Check{
	ID:       "node-pressure",
	Title:    "Nodes under memory, disk or PID pressure, evicting pods",
	Category: "nodes",
	Severity: check.High,
	Escalation: &check.Escalation{To: check.Critical,
		When: "one pressure holds on critical-share of the nodes or more: evicted pods have few places left to go"},
	Incidents: []string{"147", "148", "141"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Optional:  []snapshot.Resource{snapshot.Pods},
	Doc: `Finds Ready nodes whose MemoryPressure, DiskPressure or PIDPressure condition
is True (for longer than min-age), one finding per kind of pressure. Under
pressure the kubelet evicts pods, BestEffort first but Guaranteed ones too,
ignoring PodDisruptionBudgets, and the node is tainted so nothing new lands
on it. Nodes that are not Ready are node-not-ready's: their pressure
conditions are stale. Evidence lists the critical pods (kube-system, or a
system-*-critical priority) on the nodes, DaemonSet pods included: they are
evicted too.

In incident 147 a control-plane node under DiskPressure evicted the API
server's own pod. In incident 148 a worker under DiskPressure evicted and
recreated hundreds of DaemonSet pods in a loop. In incident 141 nodes under
DiskPressure after an API server outage evicted some 700 pods.

Severity: high; critical when one pressure holds on critical-share of the
nodes or more.`,
	Remediation: `On each node, find what fills memory, disk (container logs, images, emptyDir)
or the PID table, and free it; cordon the node while you do. Then set
requests and limits (memory, ephemeral-storage) so the scheduler stops
overcommitting, and tune the kubelet's image GC and eviction thresholds.`,
	Params: []check.Param{
		{Name: "min-age", Type: check.Duration, Default: "0s",
			Doc: "Ignore pressure that began less than this long ago."},
		{Name: "critical-share", Type: check.Float, Default: "0.2",
			Doc: "Share of the nodes (0.2 = 20%) under one pressure at which the finding is critical."},
		{Name: "max-pods-listed", Type: check.Int, Default: "20", Doc: "How many critical pods a finding lists."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "condition", Doc: "MemoryPressure, DiskPressure or PIDPressure"},
		{Name: "count", Doc: "nodes under it"},
		{Name: "nodes", Doc: "nodes in the cluster"},
		{Name: "underPressure", Doc: "per node (at most 20): node, reason, message, since, for"},
		{Name: "criticalPods", Doc: "critical pods on those nodes (when Pods were read)"},
		{Name: "criticalPodCount", Doc: "how many"},
	},
	Run: runNodePressure,
}

var pressures = []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// underPressure returns the Ready nodes whose condition kind is True. The
// check sorts only these: a sorted copy of every node, three times, was
// most of what it allocated.
func underPressure(nodes []corev1.Node, kind corev1.NodeConditionType) []corev1.Node {
	var out []corev1.Node
	for i := range nodes {
		ready := workload.NodeCondition(&nodes[i], corev1.NodeReady)
		c := workload.NodeCondition(&nodes[i], kind)
		if ready != nil && ready.Status == corev1.ConditionTrue && c != nil && c.Status == corev1.ConditionTrue {
			out = append(out, nodes[i])
		}
	}
	return out
}

func runNodePressure(p *check.Pass) error {
	total := len(p.Snapshot.Nodes)
	for _, kind := range pressures {
		var names []string
		var list []map[string]any
		on := map[string]bool{}
		for _, n := range check.SortedByName(underPressure(p.Snapshot.Nodes, kind)) {
			c := workload.NodeCondition(&n, kind)
			e := map[string]any{"node": n.Name, "reason": c.Reason, "message": c.Message}
			if !c.LastTransitionTime.IsZero() {
				age := p.Now.Sub(c.LastTransitionTime.Time)
				if age < p.Duration("min-age") {
					continue
				}
				e["since"], e["for"] = check.FormatTime(c.LastTransitionTime.Time), check.FormatAge(age)
			}
			names = append(names, n.Name)
			on[n.Name] = true
			if len(list) < 20 {
				list = append(list, e)
			}
		}
		if len(names) == 0 {
			continue
		}
		share := float64(len(names)) / float64(total)
		sev := check.High
		if share >= p.Float("critical-share") && len(names) > 1 {
			sev = check.Critical
		}
		ev := map[string]any{"condition": string(kind), "count": len(names), "nodes": total, "underPressure": list}
		critical := ""
		if p.Has(snapshot.Pods) {
			pods := []string{}
			for i := range p.Snapshot.Pods {
				pod := &p.Snapshot.Pods[i]
				if on[pod.Spec.NodeName] && workload.CriticalPod(pod) && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
					pods = append(pods, pod.Namespace+"/"+pod.Name+" on "+pod.Spec.NodeName)
				}
			}
			ev["criticalPods"] = check.First(pods, p.Int("max-pods-listed"))
			ev["criticalPodCount"] = len(pods)
			if len(pods) > 0 {
				critical = fmt.Sprintf(" %s run on them and may be evicted: %s.", check.Plural(len(pods), "critical pod", "critical pods"),
					strings.Join(check.First(pods, 3), ", "))
			}
		}
		var objs []check.Object
		for _, n := range check.First(names, 50) {
			objs = append(objs, check.Object{Kind: "Node", Name: n})
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s under %s (%.0f%% of nodes)", check.Plural(len(names), "node", "nodes"), kind, share*100),
			Message: fmt.Sprintf("%s of %d report %s=True: %s. The kubelet is evicting pods there, ignoring PodDisruptionBudgets, "+
				"and the nodes are tainted against new pods; what they evict lands on the remaining nodes.%s",
				check.Plural(len(names), "node", "nodes"), total, kind, strings.Join(check.First(names, 5), ", "), critical),
			Objects:  objs,
			Evidence: ev,
		})
	}
	return nil
}
