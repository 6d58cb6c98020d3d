// Package daemonsets checks the per-node agents a cluster cannot run
// without: when the CNI agent loses ready pods, nodes drop out of the pod
// network one by one (incident 001).
package daemonsets

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// Unready is the system-daemonset-unready check.
var Unready = &check.Check{
	ID:        "system-daemonset-unready",
	Title:     "System DaemonSet (CNI above all) with pods not ready or crash-looping",
	Category:  "availability",
	Severity:  check.Critical,
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.DaemonSets},
	Optional:  []snapshot.Resource{snapshot.Pods, snapshot.Nodes},
	Doc: `Finds DaemonSets in the system namespaces (kube-system and the usual CNI
namespaces) whose pods are not ready or crash-looping, and says what share of
the nodes they leave without the agent. A DaemonSet pod that is not ready
means one node without that agent; for the CNI (calico-node, cilium,
kube-proxy, flannel, ...) it means pods on that node lose the network, and
it usually spreads: in incident 001 Calico's agents hit their limits and
crash-looped, and nodes dropped out one by one.

Pods are the DaemonSet's own (ownerReferences): not Running, a container not
ready, or a container waiting in CrashLoopBackOff; pods not ready for less
than grace are ignored (a rolling update). Without Pods in the snapshot the
DaemonSet status is used (numberReady < desiredNumberScheduled).
Severity: networking DaemonSets are high, critical when the share of nodes
affected reaches critical-share; others medium, high at critical-share.`,
	Remediation: `Look at the failing pods (kubectl -n <ns> describe pod, logs --previous) and
at what changed: for Calico, object counts (NetworkPolicies, see
networkpolicy-sprawl) and Typha health; resource limits that the agents now
exceed. Do not restart the whole DaemonSet at once; a rolling restart of a
CNI agent takes nodes off the network in turn.`,
	Params: []check.Param{
		{Name: "namespaces", Type: check.Text, Default: "kube-system,calico-system,kube-flannel,cilium,tigera-operator",
			Doc: "Comma-separated namespaces whose DaemonSets are system agents."},
		{Name: "grace", Type: check.Duration, Default: "5m",
			Doc: "Ignore pods that have been not ready for less than this (rollouts); crash-looping pods are never ignored."},
		{Name: "critical-share", Type: check.Float, Default: "0.1",
			Doc: "Share of nodes (0.1 = 10%) affected at which severity rises (critical for networking)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "desired", Doc: "status.desiredNumberScheduled"},
		{Name: "ready", Doc: "status.numberReady"},
		{Name: "unavailable", Doc: "status.numberUnavailable"},
		{Name: "networking", Doc: "whether it is a CNI or service-proxy agent"},
		{Name: "nodes", Doc: "nodes in the cluster"},
		{Name: "affected", Doc: "pods not ready or crash-looping (from status when Pods were not read)"},
		{Name: "share", Doc: "affected / nodes, as a percentage"},
		{Name: "crashLooping", Doc: "pods waiting in CrashLoopBackOff"},
		{Name: "pods", Doc: "up to ten of them, most restarts first: pod, node, reason, restarts"},
	},
	Run: runUnready,
}

// isNetworking reports whether a DaemonSet is a CNI or service-proxy agent,
// from its names (its own, its labels and its pods' labels).
func isNetworking(ds *appsv1.DaemonSet) bool {
	return workload.Names{Name: ds.Name, Labels: ds.Labels, TemplateLabels: ds.Spec.Template.Labels}.Networking()
}

type podState struct {
	name, node, reason string
	restarts           int32
	crashLooping       bool
}

// inspect returns the state of an unhealthy pod, or ok=false if it is healthy
// (or not ready for less than grace).
func inspect(pod *corev1.Pod, now time.Time, grace time.Duration) (podState, bool) {
	st := podState{name: pod.Name, node: pod.Spec.NodeName}
	unready := pod.Status.Phase != corev1.PodRunning
	if unready {
		st.reason = "phase " + string(pod.Status.Phase)
	}
	for _, cs := range append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...) {
		st.restarts += cs.RestartCount
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			st.crashLooping = true
			st.reason = fmt.Sprintf("container %s CrashLoopBackOff", cs.Name)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if !cs.Ready {
			unready = true
			if st.reason == "" {
				st.reason = fmt.Sprintf("container %s not ready", cs.Name)
			}
		}
	}
	if st.crashLooping {
		return st, true
	}
	if !unready {
		return st, false
	}
	since := pod.CreationTimestamp.Time
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && !c.LastTransitionTime.IsZero() {
			since = c.LastTransitionTime.Time
		}
	}
	return st, since.IsZero() || now.Sub(since) >= grace
}

func ownedBy(pod *corev1.Pod, ds *appsv1.DaemonSet) bool {
	if pod.Namespace != ds.Namespace {
		return false
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == "DaemonSet" && (o.UID == ds.UID && ds.UID != "" || o.Name == ds.Name) {
			return true
		}
	}
	return false
}

func runUnready(p *check.Pass) error {
	nss := map[string]bool{}
	for _, ns := range p.List("namespaces") {
		nss[ns] = true
	}
	havePods := p.Has(snapshot.Pods)
	nodes := len(p.Snapshot.Nodes)
	dss := check.SortedByName(p.Snapshot.DaemonSets)
	for i := range dss {
		ds := &dss[i]
		if !nss[ds.Namespace] {
			continue
		}
		st := ds.Status
		ev := map[string]any{"desired": st.DesiredNumberScheduled, "ready": st.NumberReady,
			"unavailable": st.NumberUnavailable, "networking": isNetworking(ds)}
		var bad []podState
		crash := 0
		if havePods {
			for j := range p.Snapshot.Pods {
				pod := &p.Snapshot.Pods[j]
				if !ownedBy(pod, ds) {
					continue
				}
				if s, ok := inspect(pod, p.Now, p.Duration("grace")); ok {
					bad = append(bad, s)
					if s.crashLooping {
						crash++
					}
				}
			}
		}
		affected := len(bad)
		if !havePods {
			affected = int(st.DesiredNumberScheduled - st.NumberReady)
		}
		if affected <= 0 {
			continue
		}
		total := nodes
		if total == 0 {
			total = int(st.DesiredNumberScheduled)
		}
		share := 0.0
		if total > 0 {
			share = float64(affected) / float64(total)
		}
		ev["nodes"] = total
		ev["affected"] = affected
		ev["share"] = fmt.Sprintf("%.1f%%", share*100)
		ev["crashLooping"] = crash
		slices.SortFunc(bad, func(a, b podState) int {
			return cmp.Or(cmp.Compare(b.restarts, a.restarts), strings.Compare(a.name, b.name))
		})
		objects := []check.Object{{Group: "apps", Kind: "DaemonSet", Namespace: ds.Namespace, Name: ds.Name}}
		var pods []map[string]any
		for _, s := range check.First(bad, 10) {
			objects = append(objects, check.Object{Kind: "Pod", Namespace: ds.Namespace, Name: s.name})
			pods = append(pods, map[string]any{"pod": s.name, "node": s.node, "reason": s.reason, "restarts": s.restarts})
		}
		if pods != nil {
			ev["pods"] = pods
		}
		networking := isNetworking(ds)
		sev := check.Medium
		switch {
		case networking && share >= p.Float("critical-share"):
			sev = check.Critical
		case networking, share >= p.Float("critical-share"):
			sev = check.High
		}
		role := "system agent"
		consequence := "those nodes run without it"
		if networking {
			role = "networking agent"
			consequence = "pods on those nodes lose the network, and crash loops in a CNI tend to spread (incident 001)"
		}
		how := fmt.Sprintf("%d not ready", affected)
		if crash > 0 {
			how = fmt.Sprintf("%d not ready, %d crash-looping", affected, crash)
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("DaemonSet %s/%s: %s (%.0f%% of %d nodes)", ds.Namespace, ds.Name, how, share*100, total),
			Message: fmt.Sprintf("DaemonSet %s/%s (%s) has %s pods out of %d desired: %.1f%% of %d nodes. %s.",
				ds.Namespace, ds.Name, role, how, st.DesiredNumberScheduled, share*100, total, capitalize(consequence)),
			Objects:  objects,
			Evidence: ev,
		})
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
