package network

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// DNSReplicas is the cluster-dns-replicas check.
var DNSReplicas = &check.Check{
	ID:        "cluster-dns-replicas",
	Title:     "Cluster DNS with too few replicas for the node count",
	Category:  "network",
	Severity:  check.High,
	Incidents: []string{"131", "130", "132", "133"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.Nodes},
	Optional:  []snapshot.Resource{snapshot.Pods, snapshot.DaemonSets},
	Doc: `Compares the replicas of the cluster DNS Deployments (CoreDNS or kube-dns,
recognised by name or k8s-app / app.kubernetes.io/name / app label; the
node-local cache DaemonSet aside) with the sizing the Kubernetes
documentation gives its cluster-proportional autoscaler by default: one
replica per 16 nodes (nodes-per-replica), never fewer than two
(min-replicas) on a cluster of two nodes or more, never more than nodes.
As the autoscaler does, it counts schedulable nodes only, and leaves out
virtual nodes (EKS Fargate, virtual-kubelet), where each pod is a node.

Every pod resolves names through these few replicas. In incident 131 a node
reroll terminated one CoreDNS pod and the others, sized for the average,
could not absorb its share: lookups timed out across the platform. In
incident 130 all CoreDNS replicas were OOM-killed together under a query
spike. A single replica (incident 133) or replicas packed on one node
(incident 132) in kube-system or at a system-*-critical priority are
critical-single-replica's findings; this check adds the sizing against the
cluster, and reports a single replica only where that check does not look.

Severity: high when the replicas are at most half of the wanted count,
medium otherwise, and never above medium when a node-local DNS cache
DaemonSet (node-local-dns) answers most lookups on the nodes.`,
	Remediation: `Scale the DNS Deployment to the wanted count, or better, run the
cluster-proportional-autoscaler (dns-autoscaler) so it follows the node
count; spread the replicas across nodes and zones (topologySpreadConstraints
on kubernetes.io/hostname and topology.kubernetes.io/zone), keep a
PodDisruptionBudget, and consider NodeLocal DNSCache to absorb spikes.`,
	Params: []check.Param{
		{Name: "nodes-per-replica", Type: check.Int, Default: "16", Min: "1",
			Doc: "Nodes one DNS replica serves (the cluster-proportional-autoscaler's default linear parameter)."},
		{Name: "min-replicas", Type: check.Int, Default: "2", Min: "1",
			Doc: "Replicas a cluster of two nodes or more runs at least (the autoscaler's preventSinglePointFailure)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "replicas", Doc: "spec.replicas"},
		{Name: "readyReplicas", Doc: "status.readyReplicas"},
		{Name: "nodes", Doc: "schedulable nodes, virtual ones aside"},
		{Name: "wanted", Doc: "the replica count the sizing gives"},
		{Name: "readyPodsByNode", Doc: "ready DNS pods per node (when Pods were read)"},
		{Name: "nodeLocalCache", Doc: "the node-local DNS cache DaemonSet, if one runs"},
	},
	Run: runDNSReplicas,
}

// wantedDNS is the replica count the autoscaler's defaults give n nodes.
func wantedDNS(p *check.Pass, n int) int {
	want := int(math.Ceil(float64(n) / float64(p.Int("nodes-per-replica"))))
	if n >= 2 {
		want = max(want, p.Int("min-replicas"))
	}
	return max(1, min(want, n))
}

// dnsDeployments are the cluster DNS Deployments, sorted by namespace/name.
// It picks them before sorting: a copy of every Deployment of a large
// cluster to find two was most of what the catalog allocated.
func dnsDeployments(snap *snapshot.Snapshot) []workload.Workload {
	var dns []appsv1.Deployment
	for i := range snap.Deployments {
		w := workload.FromDeployment(&snap.Deployments[i])
		if c, ok := w.Names().Identify(); ok && c.Role == workload.RoleDNS && c.Name != "node-local-dns" {
			dns = append(dns, snap.Deployments[i])
		}
	}
	dns = check.SortedByName(dns)
	out := make([]workload.Workload, 0, len(dns))
	for i := range dns {
		out = append(out, workload.FromDeployment(&dns[i]))
	}
	return out
}

// virtualNode reports whether a node is a pod in disguise: EKS Fargate gives
// every pod a node, virtual-kubelet stands for a whole serverless pool.
func virtualNode(n *corev1.Node) bool {
	return n.Labels["eks.amazonaws.com/compute-type"] == "fargate" || n.Labels["type"] == "virtual-kubelet"
}

// schedulableNodes counts the nodes DNS replicas are sized against.
func schedulableNodes(snap *snapshot.Snapshot) int {
	n := 0
	for i := range snap.Nodes {
		if !snap.Nodes[i].Spec.Unschedulable && !virtualNode(&snap.Nodes[i]) {
			n++
		}
	}
	return n
}

func runDNSReplicas(p *check.Pass) error {
	nodes := schedulableNodes(p.Snapshot)
	want := wantedDNS(p, nodes)
	cache := nodeLocalCache(p.Snapshot)
	for _, w := range dnsDeployments(p.Snapshot) {
		have := int(w.Counts.Desired)
		if have == 0 || have >= want {
			// Scaled to zero: another DNS serves the cluster (or none, which
			// the kube-dns Service's endpoints show).
			continue
		}
		if have <= 1 && (w.Meta.Namespace == workload.SystemNamespace || workload.CriticalPriority(w.Template.Spec.PriorityClassName)) {
			continue // critical-single-replica reports it
		}
		name := w.Meta.Namespace + "/" + w.Meta.Name
		ev := map[string]any{"replicas": have, "readyReplicas": w.Counts.Ready, "nodes": nodes, "wanted": want}
		spread := ""
		if p.Has(snapshot.Pods) {
			byNode := readyPodsByNode(p.Snapshot, w.Meta.Namespace, w.Selector)
			ev["readyPodsByNode"] = byNode
			spread = fmt.Sprintf(" Its ready pods run on %s.", check.Plural(len(byNode), "node", "nodes"))
		}
		sev := check.Medium
		if have*2 <= want && cache == "" {
			sev = check.High
		}
		if cache != "" {
			ev["nodeLocalCache"] = cache
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Cluster DNS %s: %d replica(s) for %d nodes (want %d)", name, have, nodes, want),
			Message: fmt.Sprintf("Cluster DNS %s runs %d replica(s) for %d nodes; the default proportional sizing gives %d "+
				"(one per %d nodes, at least %d). Every lookup in the cluster goes through these replicas: losing one to a "+
				"node drain or an OOM kill moves its load onto the others, which then time out (incidents 131, 130).%s",
				name, have, nodes, want, p.Int("nodes-per-replica"), p.Int("min-replicas"), spread),
			Objects:  []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: ev,
		})
	}
	return nil
}

// nodeLocalCache names the node-local DNS cache DaemonSet that runs pods,
// if any.
func nodeLocalCache(snap *snapshot.Snapshot) string {
	var caches []appsv1.DaemonSet
	for i := range snap.DaemonSets {
		w := workload.FromDaemonSet(&snap.DaemonSets[i])
		if c, ok := w.Names().Identify(); ok && c.Name == "node-local-dns" && w.Counts.Ready > 0 {
			caches = append(caches, snap.DaemonSets[i])
		}
	}
	if len(caches) == 0 {
		return ""
	}
	d := check.SortedByName(caches)[0]
	return d.Namespace + "/" + d.Name
}

// readyPodsByNode counts the ready pods sel selects in namespace, per node.
func readyPodsByNode(snap *snapshot.Snapshot, namespace string, sel *metav1.LabelSelector) map[string]int {
	out := map[string]int{}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return out
	}
	for i := range snap.Pods {
		pod := &snap.Pods[i]
		if pod.Namespace == namespace && workload.PodReady(pod) && s.Matches(labels.Set(pod.Labels)) {
			out[pod.Spec.NodeName]++
		}
	}
	return out
}
