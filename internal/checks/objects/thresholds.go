package objects

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// Thresholds is the object-count-thresholds check.
var Thresholds = &check.Check{
	ID:        "object-count-thresholds",
	Title:     "Object counts beyond the Kubernetes scalability thresholds",
	Category:  "growth",
	Severity:  check.High,
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Optional: []snapshot.Resource{snapshot.Namespaces, snapshot.Pods, snapshot.Services,
		snapshot.Deployments, snapshot.ConfigMaps, snapshot.Secrets, snapshot.APIServices},
	Counts: true,
	Doc: `Compares object counts, cluster-wide and per namespace, with the thresholds
SIG Scalability publishes for vanilla Kubernetes
(kubernetes/community, sig-scalability/configs-and-limits/thresholds.md):
5,000 nodes; 10,000 namespaces; 150,000 pods and 3,000 per namespace;
min(110, 10 x cores) pods per node; 10,000 services and 5,000 per namespace;
2,000 deployments per namespace. The document says cluster-scope thresholds
are given for the largest cluster and are proportionally lower for smaller
ones, so the cluster-wide pod threshold is the sum of the per-node ones
(capped at 150,000) and the namespace and service thresholds are scaled by
nodes/5,000, never below min-scale of the published value. SIG Scalability
gives no figure for ConfigMaps and Secrets; their per-namespace high-water
marks are parameters. Every other kind the API server serves, custom
resources included, is counted cluster-wide (one limit=1 LIST per kind not
otherwise read, whose remainingItemCount gives the count without the
objects) and compared with objects-per-kind, a premortem high-water mark: SIG
Scalability publishes no figure per kind either.

Past these counts the control plane degrades before anything fails: LISTs
and watch-cache memory grow, controllers that handle every object (CNI
agents, operators) slow down. In incident 001 ConfigMaps doubled from 6,000 to
12,000 and ~2,000 NetworkPolicies accumulated until Calico crash-looped.
Severity is medium above a threshold and high above twice it.`,
	Remediation: `Find what creates the objects (kubectl get <kind> -n <ns> --sort-by=.metadata.creationTimestamp,
their labels and owners) and bound it: TTLs on Jobs, history limits on Helm
(--history-max) and Deployments (revisionHistoryLimit), cleanup of finished
work. If the size is intended, split the namespace or the cluster.`,
	Params: []check.Param{
		{Name: "nodes", Type: check.Int, Default: "5000", Min: "1", Doc: "Nodes per cluster (SIG Scalability)."},
		{Name: "namespaces", Type: check.Int, Default: "10000", Doc: "Namespaces per cluster of 5,000 nodes (SIG Scalability); scaled to cluster size."},
		{Name: "pods", Type: check.Int, Default: "150000", Doc: "Pods per cluster (SIG Scalability); the effective threshold is the sum of the per-node thresholds when lower."},
		{Name: "pods-per-node", Type: check.Int, Default: "110", Doc: "Pods per node (SIG Scalability: min(110, 10 x cores))."},
		{Name: "pods-per-core", Type: check.Int, Default: "10", Doc: "Pods per CPU core of the node's capacity (SIG Scalability)."},
		{Name: "services", Type: check.Int, Default: "10000", Doc: "Services per cluster of 5,000 nodes (SIG Scalability); scaled to cluster size."},
		{Name: "pods-per-namespace", Type: check.Int, Default: "3000", Doc: "Pods per namespace (SIG Scalability)."},
		{Name: "services-per-namespace", Type: check.Int, Default: "5000", Doc: "Services per namespace (SIG Scalability)."},
		{Name: "deployments-per-namespace", Type: check.Int, Default: "2000", Doc: "Deployments per namespace (SIG Scalability)."},
		{Name: "configmaps-per-namespace", Type: check.Int, Default: "1000", Doc: "ConfigMaps per namespace (premortem's high-water mark; no published threshold)."},
		{Name: "secrets-per-namespace", Type: check.Int, Default: "1000", Doc: "Secrets per namespace (premortem's high-water mark; no published threshold)."},
		{Name: "objects-per-kind", Type: check.Int, Default: "100000", Min: "1", Doc: "Objects of any other kind in the cluster, custom resources included (premortem's high-water mark; no published threshold)."},
		{Name: "min-scale", Type: check.Float, Default: "0.2", Doc: "Floor of the nodes/5,000 scaling of cluster-wide namespace and service thresholds, so small clusters are not held to tiny numbers."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "count", Doc: "the count"},
		{Name: "threshold", Doc: "the threshold it exceeds"},
		{Name: "basis", Doc: "where the threshold comes from and how it was scaled"},
		{Name: "resource", Doc: "the resource counted, as kubectl names it (objects-per-kind)"},
		{Name: "nodes", Doc: "nodes in the cluster"},
		{Name: "nodesOver", Doc: "nodes running more pods than their threshold (pods-per-node finding)"},
		{Name: "worst", Doc: "the ten most loaded of them: node, pods, threshold"},
	},
	Run: runThresholds,
}

// podLimit is min(pods-per-node, pods-per-core x cores) for a node.
func podLimit(p *check.Pass, n *corev1.Node) int {
	limit := p.Int("pods-per-node")
	if cpu, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
		if byCores := p.Int("pods-per-core") * int(cpu.Value()); byCores > 0 && byCores < limit {
			limit = byCores
		}
	}
	return limit
}

func runThresholds(p *check.Pass) error {
	snap := p.Snapshot
	c := count(snap, p.Check.AllReads())
	nodes := len(snap.Nodes)
	scale := math.Max(float64(nodes)/float64(p.Int("nodes")), p.Float("min-scale"))
	scale = math.Min(scale, 1)
	scaled := func(v int) int { return int(math.Ceil(float64(v) * scale)) }

	report := func(n, limit int, objects []check.Object, what, basis string) {
		if n <= limit {
			return
		}
		p.Report(check.Finding{
			Severity: overSeverity(n, limit),
			Title:    fmt.Sprintf("%s: %d (threshold %d)", what, n, limit),
			Message: fmt.Sprintf("%s is %d, above the threshold of %d (%s). Control-plane cost grows with the count "+
				"before anything visibly fails.", what, n, limit, basis),
			Objects:  objects,
			Evidence: map[string]any{"count": n, "threshold": limit, "basis": basis, "nodes": nodes},
		})
	}

	// Cluster-wide.
	report(nodes, p.Int("nodes"), nil, "Nodes in the cluster", "SIG Scalability: 5,000 nodes")
	scaleNote := fmt.Sprintf("SIG Scalability, scaled by max(%d nodes / %d, %.2f) = %.3f", nodes, p.Int("nodes"), p.Float("min-scale"), scale)
	if n, ok := c.total[snapshot.Namespaces.Name()]; ok {
		report(n, scaled(p.Int("namespaces")), nil, "Namespaces in the cluster", scaleNote)
	}
	if n, ok := c.total[snapshot.Services.Name()]; ok {
		report(n, scaled(p.Int("services")), nil, "Services in the cluster", scaleNote)
	}
	if n, ok := c.total[snapshot.Pods.Name()]; ok && nodes > 0 {
		sum := 0
		for i := range snap.Nodes {
			sum += podLimit(p, &snap.Nodes[i])
		}
		limit := min(sum, p.Int("pods"))
		report(n, limit, nil, "Pods in the cluster", fmt.Sprintf("sum over %d nodes of min(%d, %d x cores), at most %d",
			nodes, p.Int("pods-per-node"), p.Int("pods-per-core"), p.Int("pods")))
	}

	// Every other kind, cluster-wide: past a high-water mark its LISTs
	// (controllers' resyncs, kubectl get -A) and watch cache grow costly.
	own := []snapshot.Resource{snapshot.Nodes, snapshot.Namespaces, snapshot.Services, snapshot.Pods}
	for _, k := range slices.Sorted(maps.Keys(c.total)) {
		r := c.res[k]
		if n, limit := c.total[k], p.Int("objects-per-kind"); n > limit && !slices.ContainsFunc(own, r.Same) {
			what := fmt.Sprintf("%ss (%s) in the cluster", r.Kind, k)
			basis := "premortem high-water mark, parameter objects-per-kind"
			p.Report(check.Finding{
				Severity: overSeverity(n, limit),
				Title:    fmt.Sprintf("%s: %d (threshold %d)", what, n, limit),
				Message: fmt.Sprintf("%s is %d, above the threshold of %d (%s). Every LIST of the kind (a controller's "+
					"resync, kubectl get -A) and the API server's watch cache grow with it.", what, n, limit, basis),
				Evidence: map[string]any{"count": n, "threshold": limit, "basis": basis, "nodes": nodes, "resource": k},
			})
		}
	}

	// Per node: pods the node runs (scheduled and not finished). One finding
	// for all nodes over their threshold: on a big cluster they come in
	// hundreds, and they share a cause.
	if _, ok := c.total[snapshot.Pods.Name()]; ok {
		onNode := map[string]int{}
		for i := range snap.Pods {
			if pod := &snap.Pods[i]; pod.Spec.NodeName != "" && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
				onNode[pod.Spec.NodeName]++
			}
		}
		type over struct {
			node        string
			pods, limit int
		}
		var overs []over
		for i := range snap.Nodes {
			node := &snap.Nodes[i]
			if limit := podLimit(p, node); onNode[node.Name] > limit {
				overs = append(overs, over{node.Name, onNode[node.Name], limit})
			}
		}
		if len(overs) > 0 {
			// Most loaded (relative to its limit) first, then by name (nodes
			// are cluster-scoped: the order of a sorted node list).
			slices.SortFunc(overs, func(a, b over) int {
				return cmp.Or(cmp.Compare(float64(b.pods)/float64(b.limit), float64(a.pods)/float64(a.limit)), strings.Compare(a.node, b.node))
			})
			sev := check.Medium
			var objects []check.Object
			var worst []map[string]any
			for i, o := range overs {
				sev = max(sev, overSeverity(o.pods, o.limit))
				if i < 50 {
					objects = append(objects, check.Object{Kind: "Node", Name: o.node})
				}
				if i < 10 {
					worst = append(worst, map[string]any{"node": o.node, "pods": o.pods, "threshold": o.limit})
				}
			}
			basis := fmt.Sprintf("SIG Scalability: min(%d, %d x cores) per node", p.Int("pods-per-node"), p.Int("pods-per-core"))
			p.Report(check.Finding{
				Severity: sev,
				Title: fmt.Sprintf("Pods per node above threshold on %s (worst: %d on %s, threshold %d)",
					check.Plural(len(overs), "node", "nodes"), overs[0].pods, overs[0].node, overs[0].limit),
				Message: fmt.Sprintf("%s run more pods than the threshold (%s). Kubelet, runtime and CNI agent work "+
					"grows with pods per node; past it, node status and pod startup degrade.", check.Plural(len(overs), "node", "nodes"), basis),
				Objects:  objects,
				Evidence: map[string]any{"nodesOver": len(overs), "nodes": nodes, "worst": worst, "basis": basis},
			})
		}
	}

	// Per namespace.
	perNS := []struct {
		res   snapshot.Resource
		param string
		basis string
	}{
		{snapshot.Pods, "pods-per-namespace", "SIG Scalability"},
		{snapshot.Services, "services-per-namespace", "SIG Scalability"},
		{snapshot.Deployments, "deployments-per-namespace", "SIG Scalability"},
		{snapshot.ConfigMaps, "configmaps-per-namespace", "premortem high-water mark"},
		{snapshot.Secrets, "secrets-per-namespace", "premortem high-water mark"},
	}
	for _, k := range perNS {
		byNS := c.perNS[k.res.Name()]
		for _, ns := range slices.Sorted(maps.Keys(byNS)) {
			report(byNS[ns], p.Int(k.param), []check.Object{{Kind: "Namespace", Name: ns}},
				fmt.Sprintf("%s in namespace %s", k.res.Kind+"s", ns), k.basis+", parameter "+k.param)
		}
	}
	return nil
}

// overSeverity is the severity of a count n above its threshold limit:
// medium, high above twice the threshold.
func overSeverity(n, limit int) check.Severity {
	if n > 2*limit {
		return check.High
	}
	return check.Medium
}
