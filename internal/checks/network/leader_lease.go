package network

import (
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// LeaderLeaseStale is the control-plane-leader-stale check.
var LeaderLeaseStale = &check.Check{
	ID:        "control-plane-leader-stale",
	Title:     "Controller-manager or scheduler leader lock not renewed",
	Category:  "control-plane",
	Severity:  check.Critical,
	Incidents: []string{"140", "141"},
	Reads:     []snapshot.Resource{snapshot.Leases},
	Doc: `Reads the leader-election Leases of the control plane's singletons (leases,
default kube-system/kube-controller-manager and kube-system/kube-scheduler;
add kube-system/cloud-controller-manager where one runs) and reports each one whose renewTime
is older than lease-durations times its leaseDurationSeconds, and at least
min-stale: no instance is leading. The leader renews every couple of
seconds; a lock left alone for several lease durations, and minutes longer
than a control-plane upgrade restarts the components, means every replica
has stopped, crashed or cannot reach the API server.

Then nothing reconciles: the scheduler places no pod (new pods stay Pending
with no event), the controller-manager creates no ReplicaSet pods, Job
pods, endpoints or node taints (incidents 140, 141). Running workloads keep
running, so the cluster looks healthy until something needs to change.

A managed control plane (EKS, GKE, AKS) hides these Leases: a missing Lease
is not a finding. A scheduler that renews its lock but has stopped
scheduling (incident 142) does not show here.`,
	Remediation: `Check the static pods or services of the control-plane nodes (crictl ps,
journalctl -u kubelet, the component's logs for "leaderelection lost" or
failing lease updates); check their kubeconfig credentials and that they
reach the API server; restart them. On a managed cluster, open a support
case with the provider.`,
	Params: []check.Param{
		{Name: "leases", Type: check.Text, Default: "kube-system/kube-controller-manager,kube-system/kube-scheduler",
			Doc: "Comma-separated namespace/name of the leader-election Leases to watch. Leases in kube-node-lease (the kubelets' heartbeats) are never read."},
		{Name: "lease-durations", Type: check.Float, Default: "4", Min: "1",
			Doc: "How many lease durations without renewal make a lock stale."},
		{Name: "min-stale", Type: check.Duration, Default: "5m",
			Doc: "A lock is never stale before this long without renewal (a control-plane upgrade restarts the components)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "holder", Doc: "spec.holderIdentity (empty: released)"},
		{Name: "renewTime", Doc: "spec.renewTime (or acquireTime)"},
		{Name: "leaseDurationSeconds", Doc: "spec.leaseDurationSeconds"},
		{Name: "unrenewedFor", Doc: "how long since the last renewal"},
	},
	Run: runLeaderLeaseStale,
}

func runLeaderLeaseStale(p *check.Pass) error {
	want := map[string]bool{}
	for _, l := range p.List("leases") {
		want[l] = true
	}
	for _, l := range check.SortedByName(p.Snapshot.Leases) {
		if !want[l.Namespace+"/"+l.Name] {
			continue
		}
		renewed := leaseRenewed(&l)
		if renewed.IsZero() {
			continue
		}
		dur := 15 * time.Second // the components' default --leader-elect-lease-duration
		if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
			dur = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		}
		limit := max(time.Duration(p.Float("lease-durations")*float64(dur)), p.Duration("min-stale"))
		age := p.Now.Sub(renewed)
		if age < limit {
			continue
		}
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		component := l.Name
		what := "nothing reconciles: no ReplicaSet, Job or endpoint changes, no node lifecycle"
		if strings.Contains(component, "scheduler") {
			what = "nothing schedules: every new pod stays Pending"
		}
		held := "no holder"
		if holder != "" {
			held = "last held by " + holder
		}
		p.Report(check.Finding{
			Severity: check.Critical,
			Title:    fmt.Sprintf("%s leader lock not renewed for %s", component, check.FormatAge(age)),
			Message: fmt.Sprintf("Lease %s/%s (%s) was last renewed %s ago, more than %s: no %s is leading, so %s (incidents 140, 141).",
				l.Namespace, l.Name, held, check.FormatAge(age), check.FormatAge(limit), component, what),
			Objects: []check.Object{{Group: "coordination.k8s.io", Kind: "Lease", Namespace: l.Namespace, Name: l.Name}},
			Evidence: map[string]any{"holder": holder, "renewTime": check.FormatTime(renewed),
				"leaseDurationSeconds": int(dur / time.Second), "unrenewedFor": check.FormatAge(age)},
		})
	}
	return nil
}

// leaseRenewed is when the lease was last renewed (or acquired).
func leaseRenewed(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime != nil {
		return l.Spec.RenewTime.Time
	}
	if l.Spec.AcquireTime != nil {
		return l.Spec.AcquireTime.Time
	}
	return time.Time{}
}
