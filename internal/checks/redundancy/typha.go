package redundancy

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// TyphaReplicas is the typha-replicas check.
var TyphaReplicas = &check.Check{
	ID:        "typha-replicas",
	Title:     "Calico Typha replicas out of line with the node count",
	Category:  "redundancy",
	Severity:  check.High,
	Incidents: []string{"003"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.Nodes},
	Optional:  []snapshot.Resource{snapshot.Pods},
	Doc: `Compares the replicas of Calico's Typha (Deployments labelled
k8s-app=calico-typha or named like *typha*) with Calico's sizing guidance:
at least three replicas in production, about one per 200 nodes, at most 20,
and fewer replicas than nodes: Typha runs on the host network with a fixed
port, so at most one replica fits on a node, and with one replica per node a
rolling update or a drain leaves a replica Pending. The wanted count is
min(max(min-replicas, ceil(nodes / nodes-per-replica)), max-replicas), and
never more than nodes - 1.

Every calico-node agent gets its configuration through Typha. In incident
003 a cluster-wide rolling restart restarted the only Typha replica; its
replacement was scheduled on a node that did not have the image, and while
it was pulled the routers' BGP graceful-restart timers expired: all pod
networking was down for two minutes. Evidence includes on how many nodes the
Typha image is already present (node status images).

Severity: high for a single replica in a cluster of two nodes or more,
medium otherwise.`,
	Remediation: `Scale Typha to the wanted count. With manifests:
kubectl -n <ns> scale deployment calico-typha --replicas=N (and raise it in
the manifest, or the next apply undoes it). With the Tigera operator, the
operator sizes Typha from the node count: check that it is running and
reconciling. Keep a PodDisruptionBudget on Typha, and restart it alone,
waiting for readiness, during cluster-wide restarts.`,
	Params: []check.Param{
		{Name: "min-replicas", Type: check.Int, Default: "3", Min: "1", Doc: "Replicas a production cluster should run at least (Calico guidance)."},
		{Name: "nodes-per-replica", Type: check.Int, Default: "200", Min: "1", Doc: "Nodes one Typha replica serves (Calico guidance)."},
		{Name: "max-replicas", Type: check.Int, Default: "20", Min: "1", Doc: "Replicas beyond which more do not help (Calico guidance)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "replicas", Doc: "spec.replicas"},
		{Name: "readyReplicas", Doc: "status.readyReplicas"},
		{Name: "nodes", Doc: "nodes in the cluster"},
		{Name: "wanted", Doc: "the replica count the guidance gives"},
		{Name: "readyPodsByNode", Doc: "ready Typha pods per node (when Pods were read)"},
		{Name: "imagePresentOnNodes", Doc: "nodes whose status lists Typha's image (when nodes report images)"},
	},
	Run: runTyphaReplicas,
}

// wantedTypha is the replica count the guidance asks for with n nodes.
func wantedTypha(p *check.Pass, n int) int {
	want := max(p.Int("min-replicas"), int(math.Ceil(float64(n)/float64(p.Int("nodes-per-replica")))))
	want = min(want, p.Int("max-replicas"))
	return max(1, min(want, n-1))
}

func runTyphaReplicas(p *check.Pass) error {
	nodes := len(p.Snapshot.Nodes)
	for _, w := range workloads(p.Snapshot, typha) {
		have := int(w.Counts.Desired)
		want := wantedTypha(p, nodes)
		ev := map[string]any{"replicas": have, "readyReplicas": w.Counts.Ready, "nodes": nodes, "wanted": want}
		if p.Has(snapshot.Pods) {
			ev["readyPodsByNode"] = w.nodesOf()
		}
		cached := imageCachedOn(p, &w.Template.Spec)
		if cached >= 0 {
			ev["imagePresentOnNodes"] = cached
		}
		obj := []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}}
		name := w.Meta.Namespace + "/" + w.Meta.Name
		switch {
		case have < want:
			sev := check.Medium
			if have <= 1 && nodes >= 2 {
				sev = check.High
			}
			image := ""
			if cached >= 0 {
				image = fmt.Sprintf(" Its image is present on %d of %d nodes: a replacement scheduled elsewhere must pull it first.", cached, nodes)
			}
			p.Report(check.Finding{
				Severity: sev,
				Title:    fmt.Sprintf("Typha %s: %d replica(s) for %d nodes (want %d)", name, have, nodes, want),
				Message: fmt.Sprintf("Typha %s runs %d replica(s) for %d nodes; Calico's guidance gives %d (at least %d in production, "+
					"one per %d nodes). Every calico-node agent depends on Typha: when its only replica restarts, nodes lose their "+
					"network configuration until a new one is up (incident 003).%s",
					name, have, nodes, want, p.Int("min-replicas"), p.Int("nodes-per-replica"), image),
				Objects:  obj,
				Evidence: ev,
			})
		case have >= nodes && nodes > 1:
			p.Report(check.Finding{
				Severity: check.Medium,
				Title:    fmt.Sprintf("Typha %s: %d replicas for %d nodes (one per node)", name, have, nodes),
				Message: fmt.Sprintf("Typha %s runs %d replicas on a %d-node cluster. Typha uses a host port, so at most one replica "+
					"fits on a node: a rolling update or a drain leaves a replica Pending. Run fewer replicas than nodes (%d).",
					name, have, nodes, want),
				Objects:  obj,
				Evidence: ev,
			})
		}
	}
	return nil
}

// imageCachedOn counts the nodes whose status lists every image of the
// pod spec's containers; -1 if no node reports images.
func imageCachedOn(p *check.Pass, spec *corev1.PodSpec) int {
	reported, n := false, 0
	for _, node := range p.Snapshot.Nodes {
		if len(node.Status.Images) == 0 {
			continue
		}
		reported = true
		have := map[string]bool{}
		for _, img := range node.Status.Images {
			for _, name := range img.Names {
				have[name] = true
			}
		}
		all := true
		for _, c := range spec.Containers {
			if !have[c.Image] && !have["docker.io/"+c.Image] {
				all = false
			}
		}
		if all {
			n++
		}
	}
	if !reported {
		return -1
	}
	return n
}
