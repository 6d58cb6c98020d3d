package capacity

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// OOMKilled is the container-oom-killed check.
var OOMKilled = &check.Check{
	ID:         "container-oom-killed",
	Title:      "Containers OOMKilled again and again",
	Category:   "capacity",
	Severity:   check.High,
	Escalation: &check.Escalation{To: check.Critical, When: "the pods are critical (kube-system, or a system-*-critical priority)"},
	Incidents:  []string{"160", "170"},
	Reads:      []snapshot.Resource{snapshot.Pods},
	Optional:   []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets},
	Doc: `Looks for running pods whose containers (sidecars and init containers
included) were last terminated by the kernel's OOM killer
(lastState.terminated.reason OOMKilled, or the current state) and have
restarted at least min-restarts times: the container's memory limit is
below what it needs at its current load, and every kill drops its in-flight
requests and shifts its load to the replicas that are left.

In incident 160 the cluster's shared ingress ran with a memory limit fixed at
500Mi; a slow backend piled up in-flight requests until every replica was
OOMKilled and the load balancer had no healthy host. In incident 170 the
gateway's HPA was pinned at its maximum while a replica kept being OOMKilled
against its limit. Finished pods (Succeeded, Failed) and pods being deleted
are left out; findings are grouped by the workload that runs the pods, and
give the containers' memory limits from its pod template when it was read.

Severity: high; critical when the pods are critical (kube-system, or a
system-node-critical / system-cluster-critical priority). One level lower
when the latest OOM kill is older than recent: the restart count is
cumulative, and a loop that stopped days ago is less pressing than one that
is killing pods now.`,
	Remediation: `Raise the container's memory limit (and request) to what it uses at peak
plus headroom (kubectl top pod, or the container_memory_working_set_bytes
metric over a busy day); for a JVM or Go runtime also bound the heap
(-XX:MaxRAMPercentage, GOMEMLIMIT) below the limit. If memory grows with
in-flight work, bound the work (concurrency limits, load shedding) so that a
slow dependency cannot push every replica over its limit at once.`,
	Params: []check.Param{
		{Name: "min-restarts", Type: check.Int, Default: "3", Min: "1",
			Doc: "Restarts a container must have, its last one an OOM kill, to be reported."},
		{Name: "recent", Type: check.Duration, Default: "24h",
			Doc: "An OOM kill within this long of the scan is recent; older loops are reported one severity lower."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "pods", Doc: "how many of the workload's pods have an OOM-killed container"},
		{Name: "podNames", Doc: "their names (at most 10)"},
		{Name: "containers", Doc: "the names of the OOM-killed containers"},
		{Name: "maxRestarts", Doc: "the highest restart count among them"},
		{Name: "lastOOMKill", Doc: "when the latest OOM kill finished (RFC 3339)"},
		{Name: "critical", Doc: "whether the pods are critical"},
		{Name: "memoryLimits", Doc: "the OOM-killed containers' memory limits in the workload's pod template (when read)"},
	},
	Run: runOOMKilled,
}

// oomKilled returns the containers of p whose last termination was an OOM
// kill and that restarted at least least times, with the highest restart
// count among them and when the latest kill finished.
func oomKilled(p *corev1.Pod, least int32) (names []string, restarts int32, last time.Time) {
	// An array, not slices.Concat: this runs for every pod of the cluster.
	for _, list := range [2][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.LastTerminationState.Terminated
			if cur := cs.State.Terminated; cur != nil {
				t = cur
			}
			if t == nil || t.Reason != "OOMKilled" || cs.RestartCount < least {
				continue
			}
			names = append(names, cs.Name)
			restarts = max(restarts, cs.RestartCount)
			if t.FinishedAt.After(last) {
				last = t.FinishedAt.Time
			}
		}
	}
	return names, restarts, last
}

func runOOMKilled(p *check.Pass) error {
	least := int32(p.Int("min-restarts"))
	var hit []*corev1.Pod
	for i := range p.Snapshot.Pods {
		pod := &p.Snapshot.Pods[i]
		if !live(pod) {
			continue
		}
		if names, _, _ := oomKilled(pod, least); len(names) > 0 {
			hit = append(hit, pod)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	lookup := workloadIndex(p.Snapshot)
	for _, g := range groupByOwner(hit) {
		var containers []string
		var restarts int32
		var last time.Time
		critical := false
		for _, pod := range g.pods {
			names, r, l := oomKilled(pod, least)
			for _, n := range names {
				if !slices.Contains(containers, n) {
					containers = append(containers, n)
				}
			}
			restarts = max(restarts, r)
			if l.After(last) {
				last = l
			}
			critical = critical || workload.CriticalPod(pod)
		}
		slices.Sort(containers)
		sev := check.High
		why := ""
		if critical {
			sev = check.Critical
			why = " These are critical pods: the cluster itself depends on them."
		}
		if !last.IsZero() && p.Now.Sub(last) > p.Duration("recent") {
			sev--
			why += fmt.Sprintf(" The latest OOM kill was %s ago.", check.FormatAge(p.Now.Sub(last)))
		}
		ev := map[string]any{"pods": len(g.pods), "podNames": check.First(g.podNames(), 10), "containers": containers,
			"maxRestarts": restarts, "critical": critical}
		if !last.IsZero() {
			ev["lastOOMKill"] = check.FormatTime(last)
		}
		limitText := ""
		if w, ok := lookup(g.owner); ok {
			limits := map[string]string{}
			for _, c := range slices.Concat(w.Template.Spec.InitContainers, w.Template.Spec.Containers) {
				if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && slices.Contains(containers, c.Name) {
					limits[c.Name] = q.String()
				}
			}
			if len(limits) > 0 {
				ev["memoryLimits"] = limits
				var parts []string
				for _, n := range slices.Sorted(maps.Keys(limits)) {
					parts = append(parts, n+" "+limits[n])
				}
				limitText = " (memory limit " + strings.Join(parts, ", ") + ")"
			}
		}
		p.Report(check.Finding{
			Severity: sev,
			Title: fmt.Sprintf("%s: %s OOMKilled, up to %d restarts", g.name(),
				check.Plural(len(g.pods), "pod", "pods"), restarts),
			Message: fmt.Sprintf("In %s, container(s) %s%s of %s were last terminated by the OOM killer and have restarted up to %d "+
				"times: their memory limit is below what they need at the current load. Every kill drops in-flight work and "+
				"moves the load onto the replicas left, which then need more memory too (incidents 160, 170).%s",
				g.name(), strings.Join(containers, ", "), limitText, check.Plural(len(g.pods), "pod", "pods"), restarts, why),
			Objects:  g.objects(5),
			Evidence: ev,
		})
	}
	return nil
}
