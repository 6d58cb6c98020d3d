package capacity

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CNIHeadroom is the cni-headroom check.
var CNIHeadroom = &check.Check{
	ID:         "cni-headroom",
	Title:      "CNI components at their limits against the load they carry",
	Category:   "capacity",
	Severity:   check.High,
	Escalation: &check.Escalation{To: check.Critical, When: "containers are being OOM-killed and the policy count has grown since the baseline while the limits stayed the same"},
	Incidents:  []string{"001"},
	Reads:      []snapshot.Resource{snapshot.DaemonSets, snapshot.Deployments, snapshot.Pods},
	Optional: []snapshot.Resource{snapshot.StatefulSets, snapshot.NetworkPolicies, snapshot.CalicoNetworkPolicies,
		snapshot.Services, snapshot.EndpointSlices, snapshot.Nodes},
	Doc: `Sets the pod network's own components (calico-node, calico-typha,
calico-kube-controllers, Cilium's agent and operator, and the other CNIs
internal/workload knows) against the load they must carry: the
NetworkPolicies (Calico's own policies too, when the cluster serves them)
every agent computes, the Services and EndpointSlices it programs, and the
nodes. For each component it gives the containers' requests and limits, its
restart counts and OOM kills.

In incident 001 about 2,000 NetworkPolicies piled up in a few hours; "the
calico/typha pods are hitting resource limits", were throttled, failed their
liveness probes and crash-looped, and nodes dropped out one by one. The fix
was a limit bump, as in the same cluster's incident six months earlier:
limits sized for the load of the day they were set.

A component is reported when:
- its containers were OOM-killed (their last or current state): high;
- it sets a CPU or memory limit and a container has restarted at least
  min-restarts times (under a CPU limit the agent is throttled until its
  liveness probe fails): medium;
- with a baseline (scan --baseline), it sets limits that are the same as in
  the baseline while the policy count grew by at least min-increase and
  min-ratio since: high, the limits were set for a smaller load.

Critical when containers are OOM-killed and the policies grew under
unchanged limits. A component without restarts, OOM kills or growth under
the same limits stays quiet, whatever its size: without usage metrics a read
cannot tell a well-sized limit from a tight one, only a limit that is
being hit.`,
	Remediation: `Raise the component's memory limit (and CPU limit, or drop the CPU limit:
throttling a CNI agent fails its liveness probe) to its peak usage under the
current load plus headroom (kubectl top pod -n <ns> -l k8s-app=calico-node;
container_memory_working_set_bytes and
container_cpu_cfs_throttled_periods_total over a busy day), and bound the
load itself: find what creates the policies (networkpolicy-sprawl,
helm-release-per-run). Re-check the limits whenever the policy count grows.`,
	Params: []check.Param{
		{Name: "min-restarts", Type: check.Int, Default: "3", Min: "1",
			Doc: "Restarts of a container of a component with limits that are reported."},
		{Name: "min-increase", Type: check.Int, Default: "200", Min: "1",
			Doc: "Policy growth since the baseline, in policies, that counts as grown..."},
		{Name: "min-ratio", Type: check.Float, Default: "0.5",
			Doc: "...and as a fraction of the baseline count (0.5 = +50%)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "component", Doc: "the known component (calico-node, calico-typha, cilium, ...)"},
		{Name: "pods", Doc: "the component's pods"},
		{Name: "containers", Doc: "its containers: name, requests and limits (cpu, memory) from its pod template"},
		{Name: "maxRestarts", Doc: "the highest restart count of a container"},
		{Name: "restartingPods", Doc: "pods with a container restarted at least min-restarts times"},
		{Name: "oomKilled", Doc: "containers whose last or current state is OOMKilled"},
		{Name: "oomKilledPods", Doc: "pods with an OOM-killed container"},
		{Name: "lastOOMKill", Doc: "when the latest OOM kill finished (RFC 3339)"},
		{Name: "load", Doc: "what the component carries: networkPolicies, calicoNetworkPolicies, services, endpointSlices, nodes (those read)"},
		{Name: "policiesBefore", Doc: "policies in the baseline"},
		{Name: "policiesNow", Doc: "policies now"},
		{Name: "baselineTakenAt", Doc: "when the baseline was read"},
		{Name: "limitsUnchanged", Doc: "whether the component's limits are the same as in the baseline"},
	},
	Run: runCNIHeadroom,
}

// cniLoad is what every agent of the pod network computes or programs.
type cniLoad struct {
	policies, k8sPolicies, calicoPolicies int
	// calico: Calico's policies were read (the kind is served and listed).
	calico bool
	ev     map[string]any
	text   []string
}

func loadOf(s *snapshot.Snapshot) cniLoad {
	has := func(r snapshot.Resource) bool { _, skipped := s.Info.SkipReason(r); return !skipped }
	l := cniLoad{ev: map[string]any{}}
	if has(snapshot.NetworkPolicies) {
		l.k8sPolicies = len(s.Metadata[snapshot.NetworkPolicies])
		l.ev["networkPolicies"] = l.k8sPolicies
		l.text = append(l.text, check.Plural(l.k8sPolicies, "NetworkPolicy", "NetworkPolicies"))
	}
	if has(snapshot.CalicoNetworkPolicies) && s.Metadata[snapshot.CalicoNetworkPolicies] != nil {
		l.calico = true
		l.calicoPolicies = len(s.Metadata[snapshot.CalicoNetworkPolicies])
		l.ev["calicoNetworkPolicies"] = l.calicoPolicies
		l.text = append(l.text, check.Plural(l.calicoPolicies, "Calico NetworkPolicy", "Calico NetworkPolicies"))
	}
	l.policies = l.k8sPolicies + l.calicoPolicies
	for _, k := range []struct {
		r    snapshot.Resource
		n    int
		key  string
		what string
	}{
		{snapshot.Services, len(s.Services), "services", "Service"},
		{snapshot.EndpointSlices, len(s.EndpointSlices), "endpointSlices", "EndpointSlice"},
		{snapshot.Nodes, len(s.Nodes), "nodes", "node"},
	} {
		if has(k.r) {
			l.ev[k.key] = k.n
			l.text = append(l.text, check.Plural(k.n, k.what, k.what+"s"))
		}
	}
	return l
}

// cniComponent reports whether w is part of the pod network: a known
// component of the CNI (internal/workload), not DNS or kube-proxy.
func cniComponent(w *workload.Workload) (workload.Component, bool) {
	c, ok := w.Names().Identify()
	if !ok {
		return c, false
	}
	switch c.Role {
	case workload.RoleTypha, workload.RoleCalicoNode, workload.RoleNetwork:
		return c, true
	}
	return c, false
}

// resourceText renders cpu and memory of a resource list: "cpu 250m, memory 256Mi".
func resourceText(rl corev1.ResourceList) (map[string]string, string) {
	m := map[string]string{}
	var parts []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := rl[r]; ok {
			m[string(r)] = q.String()
			parts = append(parts, string(r)+" "+q.String())
		}
	}
	return m, strings.Join(parts, ", ")
}

// limitsOf returns the cpu and memory limits of a pod template's
// containers, keyed "container/resource": what "the limits were set" means.
func limitsOf(t *corev1.PodTemplateSpec) map[string]string {
	out := map[string]string{}
	for _, c := range slices.Concat(t.Spec.InitContainers, t.Spec.Containers) {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Limits[r]; ok {
				out[c.Name+"/"+string(r)] = q.String()
			}
		}
	}
	return out
}

// cniPods is what the component's pods show.
type cniPods struct {
	pods, restarting, oomPods int
	maxRestarts               int32
	oom                       []string
	lastOOM                   time.Time
	names                     []string
}

func podsOf(pods []*corev1.Pod, minRestarts int32) cniPods {
	var out cniPods
	for _, pod := range pods {
		out.pods++
		out.names = append(out.names, pod.Name)
		restarting := false
		for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
			out.maxRestarts = max(out.maxRestarts, cs.RestartCount)
			restarting = restarting || cs.RestartCount >= minRestarts
		}
		if restarting {
			out.restarting++
		}
		if names, _, last := oomKilled(pod, 1); len(names) > 0 {
			out.oomPods++
			for _, n := range names {
				if !slices.Contains(out.oom, n) {
					out.oom = append(out.oom, n)
				}
			}
			if last.After(out.lastOOM) {
				out.lastOOM = last
			}
		}
	}
	slices.Sort(out.oom)
	slices.Sort(out.names)
	return out
}

func runCNIHeadroom(p *check.Pass) error {
	var cnis []workload.Workload
	for _, w := range workload.All(p.Snapshot) {
		if _, ok := cniComponent(&w); ok {
			cnis = append(cnis, w)
		}
	}
	if len(cnis) == 0 {
		return nil
	}
	key := func(kind, ns, name string) check.Object {
		return check.Object{Group: "apps", Kind: kind, Namespace: ns, Name: name}
	}
	want := map[check.Object]bool{}
	for _, w := range cnis {
		want[key(w.Kind, w.Meta.Namespace, w.Meta.Name)] = true
	}
	byOwner := map[check.Object][]*corev1.Pod{}
	for i := range p.Snapshot.Pods {
		pod := &p.Snapshot.Pods[i]
		if o := ownerOf(pod); live(pod) && want[o] {
			byOwner[o] = append(byOwner[o], pod)
		}
	}
	load := loadOf(p.Snapshot)
	var before cniLoad
	var baseIndex func(check.Object) (workload.Workload, bool)
	if b := p.Baseline; b != nil {
		before = loadOf(b)
		if _, ok := before.ev["networkPolicies"]; ok {
			baseIndex = workloadIndex(b)
			if before.calico != load.calico {
				// Compare like with like: Calico's policies only when both reads have them.
				before.policies, load.policies = before.k8sPolicies, load.k8sPolicies
			}
		}
	}
	minRestarts := int32(p.Int("min-restarts"))
	for _, w := range cnis {
		comp, _ := cniComponent(&w)
		obj := key(w.Kind, w.Meta.Namespace, w.Meta.Name)
		pods := podsOf(byOwner[obj], minRestarts)
		limits := limitsOf(w.Template)
		limited := len(limits) > 0
		restarting := limited && pods.restarting > 0
		oom := pods.oomPods > 0

		ev := map[string]any{"component": comp.Name, "pods": pods.pods, "maxRestarts": pods.maxRestarts,
			"restartingPods": pods.restarting, "load": load.ev}
		grown := false
		var why []string
		if baseIndex != nil && limited {
			if bw, ok := baseIndex(obj); ok {
				unchanged := maps.Equal(limitsOf(bw.Template), limits)
				inc := load.policies - before.policies
				ratio := math.Inf(1)
				if before.policies > 0 {
					ratio = float64(inc) / float64(before.policies)
				}
				grown = unchanged && inc >= p.Int("min-increase") && ratio >= p.Float("min-ratio")
				ev["policiesBefore"], ev["policiesNow"] = before.policies, load.policies
				ev["baselineTakenAt"] = check.FormatTime(p.Baseline.Info.TakenAt)
				ev["limitsUnchanged"] = unchanged
				if grown {
					why = append(why, fmt.Sprintf("the policies grew from %d to %d since the baseline of %s while its limits stayed the same",
						before.policies, load.policies, check.FormatTime(p.Baseline.Info.TakenAt)))
				}
			}
		}
		if !oom && !restarting && !grown {
			continue
		}
		if oom {
			ev["oomKilled"], ev["oomKilledPods"] = pods.oom, pods.oomPods
			if !pods.lastOOM.IsZero() {
				ev["lastOOMKill"] = check.FormatTime(pods.lastOOM)
			}
			why = append([]string{fmt.Sprintf("%d of its %d pods had container(s) %s OOM-killed", pods.oomPods, pods.pods,
				strings.Join(pods.oom, ", "))}, why...)
		}
		if restarting {
			why = append(why, fmt.Sprintf("%d of its pods restarted at least %d times (up to %d)", pods.restarting, minRestarts, pods.maxRestarts))
		}
		sev := check.Medium
		switch {
		case oom && grown:
			sev = check.Critical
		case oom || grown:
			sev = check.High
		}
		var containers []map[string]any
		var sized []string
		for _, c := range slices.Concat(w.Template.Spec.InitContainers, w.Template.Spec.Containers) {
			req, _ := resourceText(c.Resources.Requests)
			lim, limText := resourceText(c.Resources.Limits)
			containers = append(containers, map[string]any{"name": c.Name, "requests": req, "limits": lim})
			if limText != "" {
				sized = append(sized, c.Name+" "+limText)
			}
		}
		ev["containers"] = containers
		limitText := "no CPU or memory limit"
		if len(sized) > 0 {
			limitText = "limits " + strings.Join(sized, "; ")
		}
		name := w.Kind + " " + w.Meta.Namespace + "/" + w.Meta.Name
		carried := strings.Join(load.text, ", ")
		if carried == "" {
			carried = "a load this read could not count"
		}
		objects := []check.Object{obj}
		for _, n := range check.First(pods.names, 5) {
			objects = append(objects, check.Object{Kind: "Pod", Namespace: w.Meta.Namespace, Name: n})
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s (%s): %s", name, comp.Name, why[0]),
			Message: fmt.Sprintf("%s is %s, part of the pod network, with %s. It carries %s, and %s. A CNI agent sized for "+
				"yesterday's load is throttled or OOM-killed as policies grow; its pods fail their probes and nodes drop out "+
				"of the pod network one by one (incident 001).", name, comp.Name, limitText, carried, strings.Join(why, "; ")),
			Objects:  objects,
			Evidence: ev,
		})
	}
	return nil
}
