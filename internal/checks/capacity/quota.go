package capacity

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// QuotaNearLimit is the resourcequota-near-limit check.
var QuotaNearLimit = &check.Check{
	ID:        "resourcequota-near-limit",
	Title:     "ResourceQuota used up, or nearly",
	Category:  "capacity",
	Severity:  check.High,
	Incidents: []string{"171", "172"},
	Reads:     []snapshot.Resource{snapshot.ResourceQuotas},
	Doc: `Compares each ResourceQuota's status.used with its status.hard and reports
quotas with a resource at or above ratio of its limit. A quota is enforced
when a pod is created, not while it runs: the pods already running look
fine, and the failure comes with the next pod the namespace needs (the surge
pod of a rolling update, a replacement for an evicted pod, an HPA scale-up),
which the API server refuses with "exceeded quota". The ReplicaSet records a
FailedCreate event and the Deployment quietly runs short.

In incident 171 a namespace at limits.cpu 6/6 could not roll out a new
version; in incident 172 a production namespace at 21.5 of 24 CPU could not
create the surge pod of any rolling update. Resources with a hard limit of 0
(a quota that forbids something on purpose, such as LoadBalancer Services)
are left out.

Severity: high when a resource every pod is counted against (pods, cpu,
memory, requests.* or limits.* of cpu and memory) is used up: no new pod can
start in the namespace; medium otherwise.`,
	Remediation: `kubectl describe resourcequota -n <ns> shows used and hard. Raise the quota
to what the namespace needs at peak, including a rolling update's surge and
the HPA's maxReplicas, or lower the workloads' requests and limits if they
are larger than what the pods use.`,
	Params: []check.Param{
		{Name: "ratio", Type: check.Float, Default: "0.9", Min: "0.1",
			Doc: "Fraction of a hard limit in use from which the quota is reported."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "resources", Doc: "the resources at or above the ratio: name, used, hard"},
		{Name: "exhausted", Doc: "the resources used up (used >= hard)"},
	},
	Run: runQuotaNearLimit,
}

// podResources are what every pod of a namespace counts against: when one
// is used up, no pod can be created there.
var podResources = []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory}

func runQuotaNearLimit(p *check.Pass) error {
	ratio := p.Float("ratio")
	for _, q := range check.SortedByName(p.Snapshot.ResourceQuotas) {
		var near, exhausted []string
		var rows []map[string]string
		podBlocked := false
		names := make([]string, 0, len(q.Status.Hard))
		for r := range q.Status.Hard {
			names = append(names, string(r))
		}
		slices.Sort(names)
		for _, n := range names {
			r := corev1.ResourceName(n)
			hard := q.Status.Hard[r]
			used, ok := q.Status.Used[r]
			if hard.IsZero() || !ok {
				continue
			}
			if used.AsApproximateFloat64() < ratio*hard.AsApproximateFloat64() {
				continue
			}
			near = append(near, fmt.Sprintf("%s %s/%s", n, used.String(), hard.String()))
			rows = append(rows, map[string]string{"name": n, "used": used.String(), "hard": hard.String()})
			if used.Cmp(hard) >= 0 {
				exhausted = append(exhausted, n)
				podBlocked = podBlocked || slices.Contains(podResources, r)
			}
		}
		if len(near) == 0 {
			continue
		}
		sev, effect := check.Medium, "the next objects the namespace needs may be refused"
		switch {
		case podBlocked:
			sev, effect = check.High, "no new pod can be created in the namespace: the surge pod of a rolling update, a replacement for an "+
				"evicted pod and an HPA scale-up are all refused with \"exceeded quota\" while the running pods look fine"
		case len(exhausted) > 0:
			effect = "creating more of " + strings.Join(exhausted, ", ") + " is refused"
		}
		name := q.Namespace + "/" + q.Name
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("ResourceQuota %s: %s", name, strings.Join(check.First(near, 3), ", ")),
			Message: fmt.Sprintf("ResourceQuota %s is at or above %.0f%% of its limit for %s: %s (incidents 171, 172).",
				name, ratio*100, strings.Join(near, ", "), effect),
			Objects:  []check.Object{{Kind: "ResourceQuota", Namespace: q.Namespace, Name: q.Name}},
			Evidence: map[string]any{"resources": rows, "exhausted": exhausted},
		})
	}
	return nil
}
