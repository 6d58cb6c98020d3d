package capacity

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// PodsUnschedulable is the pods-unschedulable check.
var PodsUnschedulable = &check.Check{
	ID:         "pods-unschedulable",
	Title:      "Pods the scheduler has not been able to place for a long time",
	Category:   "capacity",
	Severity:   check.Medium,
	Escalation: &check.Escalation{To: check.High, When: "the pods are critical (kube-system, or a system-*-critical priority)"},
	Incidents:  []string{"176", "177", "178", "161"},
	Reads:      []snapshot.Resource{snapshot.Pods},
	Doc: `Looks for pods that are Pending with the PodScheduled condition False,
reason Unschedulable, for longer than min-age: no node fits their requests,
selectors, affinities, tolerations or spread constraints, and nothing (the
cluster autoscaler, quota, preemption) has made room. A replica that cannot
be placed is capacity the workload counts on and does not have; the next
node loss or rollout takes more.

In incident 176 kube-dns scaling up pushed the cluster-autoscaler off its
node, and worker pods stayed Pending with nothing left to add nodes. In
incident 177 a hub pod drained off its node by the autoscaler sat Pending
because the cloud quota was used up. In incident 178 an Elasticsearch pod
whose volume was in a zone the node upgrade had left without a node stayed
Pending (volume node affinity conflict) for a week. In incident 161 a
rollout waited on an extra replica that needed a quarter of a node free,
and placed it by preempting running pods. Pods created less than min-age ago (scale-ups in
progress) and DaemonSet pods (a stuck node, which system-daemonset-unready
reports) are left out; findings are grouped by workload.

Severity: medium; high when the pods are critical; low for Job pods, which
batch systems often leave queued for capacity on purpose.`,
	Remediation: `kubectl describe pod shows the scheduler's reason ("0/12 nodes are
available: 12 Insufficient memory", "didn't match pod anti-affinity
rules"). Add capacity or raise the node group's maximum, lower requests that
are larger than any node can offer, relax selectors and required
anti-affinity, or give critical pods a priority class so that they are placed
first.`,
	Params: []check.Param{
		{Name: "min-age", Type: check.Duration, Default: "15m",
			Doc: "How long a pod must have been unschedulable to be reported."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "pods", Doc: "how many of the workload's pods are unschedulable"},
		{Name: "podNames", Doc: "their names (at most 10)"},
		{Name: "pendingSince", Doc: "when the longest-waiting one became unschedulable (RFC 3339)"},
		{Name: "message", Doc: "the scheduler's message on that pod"},
		{Name: "critical", Doc: "whether the pods are critical"},
	},
	Run: runPodsUnschedulable,
}

// unschedulableSince returns when p became unschedulable, if it is.
func unschedulableSince(p *corev1.Pod) (time.Time, string, bool) {
	if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" || p.DeletionTimestamp != nil {
		return time.Time{}, "", false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			since := c.LastTransitionTime.Time
			if since.IsZero() {
				since = p.CreationTimestamp.Time
			}
			return since, c.Message, true
		}
	}
	return time.Time{}, "", false
}

func runPodsUnschedulable(p *check.Pass) error {
	minAge := p.Duration("min-age")
	var hit []*corev1.Pod
	for i := range p.Snapshot.Pods {
		pod := &p.Snapshot.Pods[i]
		since, _, ok := unschedulableSince(pod)
		if !ok || p.Now.Sub(since) < minAge || p.Now.Sub(pod.CreationTimestamp.Time) < minAge {
			continue
		}
		if ownerOf(pod).Kind == workload.DaemonSet {
			continue
		}
		hit = append(hit, pod)
	}
	for _, g := range groupByOwner(hit) {
		var first time.Time
		msg := ""
		critical := false
		for _, pod := range g.pods {
			since, m, _ := unschedulableSince(pod)
			if first.IsZero() || since.Before(first) {
				first, msg = since, m
			}
			critical = critical || workload.CriticalPod(pod)
		}
		sev := check.Medium
		switch {
		case critical:
			sev = check.High
		case g.owner.Kind == "Job":
			sev = check.Low
		}
		age := check.FormatAge(p.Now.Sub(first))
		reason := ""
		if msg != "" {
			reason = " The scheduler says: " + msg
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s: %s unschedulable for %s", g.name(), check.Plural(len(g.pods), "pod", "pods"), age),
			Message: fmt.Sprintf("%s of %s have been Pending and unschedulable for up to %s: no node fits them and nothing has "+
				"made room. The workload runs short of the replicas it counts on, and the next node loss or rollout takes more "+
				"(incidents 176, 177).%s", check.Plural(len(g.pods), "pod", "pods"), g.name(), age, reason),
			Objects: g.objects(5),
			Evidence: map[string]any{"pods": len(g.pods), "podNames": check.First(g.podNames(), 10),
				"pendingSince": check.FormatTime(first), "message": msg, "critical": critical},
		})
	}
	return nil
}
