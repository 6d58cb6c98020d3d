// Package nodes checks the machines: versions that differ from node to node,
// and nodes whose runtime or network is not ready (incident 004).
package nodes

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// VersionDrift is the node-version-drift check.
var VersionDrift = &check.Check{
	ID:        "node-version-drift",
	Title:     "Kernel, kubelet, runtime or OS versions mixed across nodes",
	Category:  "nodes",
	Severity:  check.High,
	Incidents: []string{"004"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Optional:  []snapshot.Resource{snapshot.Pods},
	Doc: `Reports each node attribute in fields (kernelVersion, kubeletVersion,
containerRuntimeVersion, osImage from status.nodeInfo) that is not the same on
every node: the distribution of versions, the nodes on minority versions, and
the critical pods (kube-system, or priority system-cluster-critical /
system-node-critical) that run on them, DaemonSet pods aside since they run
everywhere.

Nodes are not abstract compute: in incident 004 a kernel/netlink bug made
containerd hang on some nodes only, and the kubelet reported "container
runtime is down". A minority of nodes on a different kernel or runtime is
where such a bug shows first, and what the responders need to know at once.
Drift during a rolling upgrade is expected; drift that stays is not.

Severity: medium for kernel and runtime drift, low for kubelet and OS image
drift; one level higher when critical pods run on minority nodes.`,
	Remediation: `Finish (or roll back) the upgrade so every node runs the same kernel, runtime,
kubelet and OS image; until then, keep critical single-instance components off
the minority nodes (node affinity) and watch those nodes' runtime health.`,
	Params: []check.Param{
		{Name: "fields", Type: check.Text, Default: "kernelVersion,containerRuntimeVersion,kubeletVersion,osImage",
			Doc: "Comma-separated status.nodeInfo fields to compare."},
		{Name: "max-pods-listed", Type: check.Int, Default: "20", Doc: "How many critical pods on minority nodes a finding lists."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "field", Doc: "the status.nodeInfo field"},
		{Name: "distribution", Doc: "nodes per value"},
		{Name: "majority", Doc: "the most common value"},
		{Name: "minorityNodes", Doc: "nodes on other values (at most 50)"},
		{Name: "minorityNodeCount", Doc: "how many"},
		{Name: "criticalPodsOnMinority", Doc: "critical non-DaemonSet pods on them, namespace/name on node (when Pods were read)"},
		{Name: "criticalPodCount", Doc: "how many"},
	},
	Run: runVersionDrift,
}

var nodeInfoFields = map[string]func(corev1.NodeSystemInfo) string{
	"kernelVersion":           func(i corev1.NodeSystemInfo) string { return i.KernelVersion },
	"kubeletVersion":          func(i corev1.NodeSystemInfo) string { return i.KubeletVersion },
	"containerRuntimeVersion": func(i corev1.NodeSystemInfo) string { return i.ContainerRuntimeVersion },
	"osImage":                 func(i corev1.NodeSystemInfo) string { return i.OSImage },
	// Deprecated in the API (kubelets stopped setting it in 1.31) and not
	// compared by default; a user may still ask for it on clusters whose
	// nodes report it.
	//lint:ignore SA1019 read only to compare nodes that still report it
	"kubeProxyVersion": func(i corev1.NodeSystemInfo) string { return i.KubeProxyVersion },
	"operatingSystem":  func(i corev1.NodeSystemInfo) string { return i.OperatingSystem },
	"architecture":     func(i corev1.NodeSystemInfo) string { return i.Architecture },
}

func ownedByDaemonSet(p *corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

func runVersionDrift(p *check.Pass) error {
	for _, field := range p.List("fields") {
		get, ok := nodeInfoFields[field]
		if !ok {
			return fmt.Errorf("parameter fields: unknown nodeInfo field %q", field)
		}
		byVersion := map[string][]string{}
		for _, n := range p.Snapshot.Nodes {
			v := get(n.Status.NodeInfo)
			if v == "" {
				v = "(unknown)"
			}
			byVersion[v] = append(byVersion[v], n.Name)
		}
		if len(byVersion) < 2 {
			continue
		}
		versions := make([]string, 0, len(byVersion))
		for v := range byVersion {
			versions = append(versions, v)
			slices.Sort(byVersion[v])
		}
		// Most nodes first; among equals, the later version string is the majority.
		slices.SortFunc(versions, func(a, b string) int {
			return cmp.Or(cmp.Compare(len(byVersion[b]), len(byVersion[a])), strings.Compare(b, a))
		})
		majority := versions[0]
		minorityNodes := map[string]string{}
		var objects []check.Object
		dist := map[string]int{}
		var minority []string
		for _, v := range versions {
			dist[v] = len(byVersion[v])
			if v == majority {
				continue
			}
			minority = append(minority, fmt.Sprintf("%s on %s", v, check.Plural(len(byVersion[v]), "node", "nodes")))
			for _, n := range byVersion[v] {
				minorityNodes[n] = v
			}
		}
		names := make([]string, 0, len(minorityNodes))
		for n := range minorityNodes {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range check.First(names, 50) {
			objects = append(objects, check.Object{Kind: "Node", Name: n})
		}
		critical := []string{} // evidence shows [] rather than null
		for i := range p.Snapshot.Pods {
			pod := &p.Snapshot.Pods[i]
			if _, on := minorityNodes[pod.Spec.NodeName]; on && workload.CriticalPod(pod) && !ownedByDaemonSet(pod) &&
				pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
				critical = append(critical, pod.Namespace+"/"+pod.Name+" on "+pod.Spec.NodeName)
			}
		}
		slices.Sort(critical)
		sev := check.Low
		if field == "kernelVersion" || field == "containerRuntimeVersion" {
			sev = check.Medium
		}
		if len(critical) > 0 {
			sev++
		}
		ev := map[string]any{"field": field, "distribution": dist, "majority": majority,
			"minorityNodes": check.First(names, 50), "minorityNodeCount": len(names)}
		onMinority := ""
		if p.Has(snapshot.Pods) {
			ev["criticalPodsOnMinority"] = check.First(critical, p.Int("max-pods-listed"))
			ev["criticalPodCount"] = len(critical)
			onMinority = " No critical pods (other than DaemonSet pods) run on them."
			if len(critical) > 0 {
				onMinority = fmt.Sprintf(" %s run on them: %s.", check.Plural(len(critical), "critical pod", "critical pods"),
					strings.Join(check.First(critical, 5), ", "))
			}
		}
		p.Report(check.Finding{
			Severity: sev,
			Title: fmt.Sprintf("%s differs: %s on %d nodes, %s", field, majority, len(byVersion[majority]),
				strings.Join(minority, ", ")),
			Message: fmt.Sprintf("Nodes run %d different %s values: %s on %d nodes, %s.%s A bug that hits one kernel or "+
				"runtime version hits only these nodes, as in incident 004.", len(versions), field, majority, len(byVersion[majority]),
				strings.Join(minority, ", "), onMinority),
			Objects:  objects,
			Evidence: ev,
		})
	}
	return nil
}
