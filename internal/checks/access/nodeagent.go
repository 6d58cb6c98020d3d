package access

import (
	"fmt"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// ClusterWideNodeAgent is the cluster-wide-node-agent check.
var ClusterWideNodeAgent = &check.Check{
	ID:        "cluster-wide-node-agent",
	Title:     "Per-node agent may watch the whole cluster",
	Category:  category,
	Severity:  check.High,
	Incidents: []string{"000"},
	Reads:     []snapshot.Resource{snapshot.DaemonSets, snapshot.ClusterRoles, snapshot.ClusterRoleBindings},
	Optional:  []snapshot.Resource{snapshot.Pods, snapshot.Nodes, snapshot.EndpointSlices, snapshot.Services, snapshot.ReplicaSets},
	Doc: `Finds DaemonSets whose ServiceAccount may list and watch pods (or nodes,
endpoints, EndpointSlices, Services, ReplicaSets) in every namespace, through
ClusterRoleBindings to ClusterRoles (aggregated ClusterRoles and wildcards
included).

One agent per node that watches every pod makes the API server send each
pod change once per node: the load grows with nodes x pods, and every agent
restart (a rollout, a node reboot) re-lists everything. In incident 000 an
OpenTelemetry collector's k8sattributes processor, run on every node of
WikiKube, added more than 50% to the API servers' egress; with MediaWiki
deploys it saturated the API servers' CPU and a 1G NIC.

The projected load in the evidence is what the agents may do, not what they
are seen doing: an agent may already narrow its watch with a field
selector (premortem audit shows the actual LIST and WATCH calls). Severity is
high when the agent may watch pods, endpoints or EndpointSlices (the kinds
that change with every deploy) and runs on at least min-agents nodes,
medium otherwise.`,
	Remediation: `Make each agent watch only its own node's objects: a field selector
spec.nodeName=$(NODE_NAME) with NODE_NAME from the downward API (for the
OpenTelemetry k8sattributes processor: filter.node_from_env_var), or read
the kubelet's /pods endpoint on the node instead of the API server. Where
cluster-wide metadata is needed, run one instance (a Deployment) that
watches and shares it, rather than one per node. Then narrow the ClusterRole
to what the agent really uses.`,
	Params: []check.Param{
		{Name: "resources", Type: check.Text, Default: "pods,nodes,endpoints,endpointslices.discovery.k8s.io,services,replicasets.apps",
			Doc: "Resources whose cluster-wide list/watch by a per-node agent is reported (resource[.group], comma-separated)."},
		{Name: "min-agents", Type: check.Int, Default: "3", Doc: "Nodes a DaemonSet must run on for a high-severity finding."},
		{Name: "ignore", Type: check.Text, Default: "kube-system/kube-proxy",
			Doc: "DaemonSets not reported (namespace/name, comma-separated): kube-proxy must watch Services and EndpointSlices everywhere."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "agents", Doc: "Nodes the DaemonSet runs on (status.desiredNumberScheduled)."},
		{Name: "serviceAccount", Doc: "namespace/name of the DaemonSet's ServiceAccount."},
		{Name: "grants", Doc: "Each cluster-wide list/watch permission: resource, verbs, clusterRoleBinding, clusterRole."},
		{Name: "projectedLoad", Doc: "Per resource: objects in the cluster and objectsSentOnRelist (agents x objects)."},
		{Name: "objectsPerRelist", Doc: "Objects sent when every agent re-lists everything it may watch."},
	},
	Run: runClusterWideNodeAgent,
}

// churning resources change with every deploy.
var churning = map[string]bool{"pods": true, "endpoints": true, "endpointslices.discovery.k8s.io": true}

func runClusterWideNodeAgent(p *check.Pass) error {
	snap := p.Snapshot
	want := parseResources(p.Text("resources"))
	r := newRBAC(snap)
	for i := range snap.DaemonSets {
		ds := &snap.DaemonSets[i]
		if inList(p.Text("ignore"), ds.Namespace, ds.Name) {
			continue
		}
		sa := serviceAccountOf(&ds.Spec.Template.Spec)
		grants := r.listWatch(ds.Namespace, sa, want)
		if len(grants) == 0 {
			continue
		}
		agents := daemonSetPods(ds)
		watched := grantedResources(grants, want)
		var load []map[string]any
		var parts []string
		var total int64
		churn := false
		for _, res := range watched {
			churn = churn || churning[res]
			e := map[string]any{"resource": res}
			if n, ok := objectCount(p, res); ok {
				e["objects"] = n
				e["objectsSentOnRelist"] = int64(agents) * int64(n)
				total += int64(agents) * int64(n)
				parts = append(parts, fmt.Sprintf("%d %s", n, res))
			}
			load = append(load, e)
		}
		sev := check.Medium
		if churn && int(agents) >= p.Int("min-agents") {
			sev = check.High
		}
		var via []string
		for _, g := range grants {
			v := "ClusterRoleBinding " + g.Binding + " -> ClusterRole " + g.Role
			if !slices.Contains(via, v) {
				via = append(via, v)
			}
		}
		msg := fmt.Sprintf("DaemonSet %s/%s runs on %s and its ServiceAccount %s/%s may list and watch %s in every namespace (%s). "+
			"If every agent watches all it may, the API server sends each change of those objects once per node, and every rollout of the agent re-lists them all from every node",
			ds.Namespace, ds.Name, check.Plural(int(agents), "node", "nodes"), ds.Namespace, sa, strings.Join(watched, ", "), strings.Join(via, "; "))
		if len(parts) > 0 {
			msg += fmt.Sprintf(": %s x (%s) = %d objects per re-list", check.Plural(int(agents), "agent", "agents"), strings.Join(parts, " + "), total)
		}
		msg += ". In incident 000 such a collector added more than 50% to the API servers' egress."
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("DaemonSet %s/%s (%s) may watch %s cluster-wide", ds.Namespace, ds.Name, check.Plural(int(agents), "node", "nodes"), strings.Join(watched, ", ")),
			Message:  msg,
			Objects: []check.Object{obj("apps", "DaemonSet", ds.Namespace, ds.Name),
				obj("", "ServiceAccount", ds.Namespace, sa)},
			Evidence: map[string]any{"agents": agents, "serviceAccount": ds.Namespace + "/" + sa, "grants": grants,
				"projectedLoad": load, "objectsPerRelist": total},
		})
	}
	return nil
}

// objectCount returns how many objects of res the snapshot holds, when the
// kind was read.
func objectCount(p *check.Pass, res string) (int, bool) {
	s := p.Snapshot
	switch res {
	case "pods":
		return len(s.Pods), p.Has(snapshot.Pods)
	case "nodes":
		return len(s.Nodes), p.Has(snapshot.Nodes)
	case "endpointslices.discovery.k8s.io":
		return len(s.EndpointSlices), p.Has(snapshot.EndpointSlices)
	case "endpoints", "services":
		// One Endpoints object per Service (Endpoints are not read).
		return len(s.Services), p.Has(snapshot.Services)
	case "replicasets.apps":
		return len(s.Metadata[snapshot.ReplicaSets]), p.Has(snapshot.ReplicaSets)
	}
	return 0, false
}
