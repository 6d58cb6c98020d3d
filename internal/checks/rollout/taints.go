package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// NetworkDaemonSetTaintGap is the network-daemonset-taint-gap check.
var NetworkDaemonSetTaintGap = &check.Check{
	ID:        "network-daemonset-taint-gap",
	Title:     "Networking DaemonSet kept off nodes by taints it does not tolerate",
	Category:  "availability",
	Severity:  check.High,
	Incidents: []string{"223", "224", "225", "226"},
	Reads:     []snapshot.Resource{snapshot.DaemonSets, snapshot.Nodes},
	Doc: `Reports the pod-network and service-proxy DaemonSets (calico-node, cilium,
kube-proxy, flannel, aws-node, istio-cni and the other CNI agents) that
cannot run on some nodes their node selector and node affinity do select,
because those nodes carry a NoSchedule or NoExecute taint the DaemonSet
does not tolerate. Such a node has no CNI agent: it stays NotReady, or pods
placed on it fail to get a network.

In incident 223 a worker tainted NoExecute got no kindnet pod and stayed
NotReady; in 224 a tainted node pool lacked the agent canal needed, so
canal crash-looped there and the nodes could run nothing; in 225 nodes with
a taint Cilium did not tolerate ran without Cilium; in 226 three of six
nodes tainted for dedicated workloads ran without istio-cni and every pod
placed there failed.

The taints the DaemonSet controller tolerates for every DaemonSet pod
(not-ready, unreachable, memory, disk and PID pressure, unschedulable,
network-unavailable) and the ones that come and go with a node's life
(node.kubernetes.io/, node.cloudprovider.kubernetes.io/, karpenter.sh/,
the cluster autoscaler's, Cilium's agent-not-ready) are ignored. A node
another DaemonSet of the same component covers (a per-pool or per-OS
variant) is not counted, nor a Windows node the DaemonSet does not select
by OS.

Severity: high.`,
	Remediation: `Add tolerations for the nodes' taints to the DaemonSet's pod template (CNI
agents usually tolerate every taint: "- operator: Exists"), or, if those
nodes are meant to run without it, exclude them explicitly with a node
selector or node affinity so that the intent is visible.`,
	Evidence: []check.EvidenceKey{
		{Name: "component", Doc: "the networking component the DaemonSet is"},
		{Name: "missingNodes", Doc: "how many selected nodes it cannot run on"},
		{Name: "nodes", Doc: "up to ten of them: node and the untolerated taint"},
		{Name: "taints", Doc: "the untolerated taints (key=value:effect) and how many nodes carry each"},
		{Name: "desired", Doc: "status.desiredNumberScheduled"},
	},
	Run: runNetworkDaemonSetTaintGap,
}

// ignoredTaint reports whether a taint never keeps a DaemonSet pod off a
// node for long: the DaemonSet controller tolerates it for every DaemonSet
// pod, or it is a node lifecycle taint that goes away by itself.
func ignoredTaint(t *corev1.Taint) bool {
	if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
		return true
	}
	for _, prefix := range transientTaintPrefixes {
		if strings.HasPrefix(t.Key, prefix) {
			return true
		}
	}
	return slices.Contains(transientTaints, t.Key)
}

// Taints that come and go with a node's life: conditions and cordons (the
// DaemonSet controller tolerates them), cloud initialisation and shutdown,
// autoscalers draining a node, a CNI's own not-ready-yet taint.
var (
	transientTaintPrefixes = []string{"node.kubernetes.io/", "node.cloudprovider.kubernetes.io/", "karpenter.sh/"}
	transientTaints        = []string{"ToBeDeletedByClusterAutoscaler", "DeletionCandidateOfClusterAutoscaler",
		"node.cilium.io/agent-not-ready"}
)

// otherOS reports whether n runs an OS the DaemonSet does not ask for:
// a Windows node is no gap in a Linux agent that only forgot to say so.
func otherOS(ds *appsv1.DaemonSet, n *corev1.Node) bool {
	os := n.Labels[corev1.LabelOSStable]
	return os != "" && os != "linux" && ds.Spec.Template.Spec.NodeSelector[corev1.LabelOSStable] != os
}

// taintString renders a taint as kubectl taint takes it.
func taintString(t *corev1.Taint) string {
	if t.Value == "" {
		return fmt.Sprintf("%s:%s", t.Key, t.Effect)
	}
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}

// componentOf names the networking component a DaemonSet is, so that
// variants of one component (per node pool, per OS) count together.
func componentOf(ds *appsv1.DaemonSet) string {
	if c, ok := names(ds).Identify(); ok {
		return c.Name
	}
	return ds.Name
}

// names are what a DaemonSet goes by.
func names(ds *appsv1.DaemonSet) workload.Names {
	w := workload.FromDaemonSet(ds)
	return w.Names()
}

// gap is one selected node a DaemonSet cannot run on.
type gap struct {
	node  string
	taint string
}

// reach returns, for one DaemonSet, the nodes it runs on (selected and
// tolerated) and the selected nodes a taint keeps it off.
func reach(ds *appsv1.DaemonSet, nodes []corev1.Node) (covered map[string]bool, gaps []gap) {
	covered = map[string]bool{}
	affinity := nodeaffinity.GetRequiredNodeAffinity(&corev1.Pod{Spec: ds.Spec.Template.Spec})
	counted := func(t *corev1.Taint) bool { return !ignoredTaint(t) }
	for i := range nodes {
		n := &nodes[i]
		if ok, err := affinity.Match(n); err != nil || !ok || otherOS(ds, n) {
			continue
		}
		t, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, ds.Spec.Template.Spec.Tolerations, counted, false)
		if untolerated {
			gaps = append(gaps, gap{node: n.Name, taint: taintString(&t)})
			continue
		}
		covered[n.Name] = true
	}
	return covered, gaps
}

func runNetworkDaemonSetTaintGap(p *check.Pass) error {
	var dss []appsv1.DaemonSet
	for _, ds := range p.Snapshot.DaemonSets {
		if names(&ds).Networking() {
			dss = append(dss, ds)
		}
	}
	if len(dss) == 0 {
		return nil
	}
	dss = check.SortedByName(dss)
	nodes := p.Snapshot.Nodes
	covered := map[string]map[string]bool{} // component -> nodes some DaemonSet of it runs on
	gaps := make([][]gap, len(dss))
	for i := range dss {
		c, g := reach(&dss[i], nodes)
		comp := componentOf(&dss[i])
		if covered[comp] == nil {
			covered[comp] = map[string]bool{}
		}
		for n := range c {
			covered[comp][n] = true
		}
		gaps[i] = g
	}
	for i := range dss {
		ds := &dss[i]
		comp := componentOf(ds)
		missing := slices.DeleteFunc(gaps[i], func(g gap) bool { return covered[comp][g.node] })
		if len(missing) == 0 {
			continue
		}
		byTaint := map[string]int{}
		for _, g := range missing {
			byTaint[g.taint]++
		}
		taints := make([]string, 0, len(byTaint))
		for t := range byTaint {
			taints = append(taints, t)
		}
		slices.SortFunc(taints, func(a, b string) int { return cmp.Or(cmp.Compare(byTaint[b], byTaint[a]), strings.Compare(a, b)) })
		var list []map[string]any
		for _, g := range check.First(missing, 10) {
			list = append(list, map[string]any{"node": g.node, "taint": g.taint})
		}
		name := ds.Namespace + "/" + ds.Name
		p.Report(check.Finding{
			Severity: check.High,
			Title:    fmt.Sprintf("DaemonSet %s: kept off %d node(s) by taint %s", name, len(missing), taints[0]),
			Message: fmt.Sprintf("DaemonSet %s (%s) selects %d node(s) whose taints it does not tolerate (%s), and no other %s "+
				"DaemonSet covers them: those nodes run without it, so they stay NotReady or their pods get no network "+
				"(incidents 223, 225, 226).", name, comp, len(missing), strings.Join(taints, ", "), comp),
			Objects: []check.Object{{Group: "apps", Kind: "DaemonSet", Namespace: ds.Namespace, Name: ds.Name}},
			Evidence: map[string]any{"component": comp, "missingNodes": len(missing), "nodes": list, "taints": byTaint,
				"desired": ds.Status.DesiredNumberScheduled},
		})
	}
	return nil
}
