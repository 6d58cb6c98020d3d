package capacity

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CriticalNoPriority is the critical-workload-no-priority check.
var CriticalNoPriority = &check.Check{
	ID:        "critical-workload-no-priority",
	Title:     "Critical workload without a priority class",
	Category:  "capacity",
	Severity:  check.Medium,
	Incidents: []string{"176", "162", "161"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets},
	Doc: `Reports the Deployments, StatefulSets and DaemonSets the cluster cannot run
without (in kube-system, or a known networking or DNS component) whose pods
have no priorityClassName. They run at priority 0 like any application
pod: when a node runs short, the kubelet may evict them and the scheduler
places them behind everything else; any pod with a priority may preempt
them. The containers without a memory request are listed too: those are
the first the kubelet evicts under memory pressure, and the scheduler packs
them onto nodes as if they needed nothing.

In incident 176 kube-dns scaled up and pushed the cluster-autoscaler off
its node, and with no autoscaler no new node came: pods stayed Pending. In
incident 162 pods without memory requests were packed onto nodes until a
node ran out of memory. In incident 161 pod priorities decided which pods
were preempted during a rollout.

Severity: medium.`,
	Remediation: `Set priorityClassName: system-cluster-critical (cluster add-ons such as
DNS, the autoscaler, metrics-server) or system-node-critical (per-node
agents such as the CNI and kube-proxy) in the pod template, and give every
container a memory request close to what it uses.`,
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the workload counts as critical"},
		{Name: "containersWithoutMemoryRequest", Doc: "containers with no memory request"},
		{Name: "replicas", Doc: "the workload's desired pods"},
	},
	Run: runCriticalNoPriority,
}

func runCriticalNoPriority(p *check.Pass) error {
	for _, w := range workload.All(p.Snapshot) {
		crit := w.Classify()
		if !crit.Critical() || w.Template.Spec.PriorityClassName != "" || w.Counts.Desired == 0 {
			continue
		}
		var noMem []string
		for _, c := range w.Template.Spec.Containers {
			if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
				noMem = append(noMem, c.Name)
			}
		}
		mem := ""
		if len(noMem) > 0 {
			mem = fmt.Sprintf(" Container(s) %s have no memory request either: the kubelet evicts them first under memory pressure.",
				strings.Join(noMem, ", "))
		}
		name := w.Meta.Namespace + "/" + w.Meta.Name
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("%s %s: critical, but no priority class", w.Kind, name),
			Message: fmt.Sprintf("%s %s is critical (%s) but its pods have no priorityClassName: they run at priority 0, so any "+
				"pod with a priority may preempt them and the scheduler places them behind everything else when nodes run short "+
				"(incidents 176, 161).%s", w.Kind, name, strings.Join(crit.Reasons, ", "), mem),
			Objects: []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: map[string]any{"criticalBecause": crit.Reasons, "containersWithoutMemoryRequest": noMem,
				"replicas": w.Counts.Desired},
		})
	}
	return nil
}
