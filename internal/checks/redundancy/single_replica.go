package redundancy

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// SingleReplica is the critical-single-replica check.
var SingleReplica = &check.Check{
	ID:        "critical-single-replica",
	Title:     "Critical component that does not survive losing one pod or node",
	Category:  "redundancy",
	Severity:  check.High,
	Incidents: []string{"003", "004"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets},
	Optional:  []snapshot.Resource{snapshot.PodDisruptionBudgets, snapshot.Pods, snapshot.ReplicaSets},
	Doc: `Looks at the Deployments and StatefulSets of the system namespaces and those
whose pods run at priority system-cluster-critical or system-node-critical,
and reports the ones that do not survive losing a pod or a node:

  - one replica: any restart, drain or eviction is an outage of the component;
  - all ready replicas on one node: losing that node loses them all;
  - no PodDisruptionBudget selecting its pods: a drain or a cluster-wide
    rolling restart may take every replica down at once.

In incident 003 a rolling restart of every pod reached kube-system, where
calico-typha ran one replica; its replacement landed on a node without the
image and pod networking was down for two minutes. In incident 004 the one
metrics-server being unavailable held back namespace deletions for days.
Calico Typha itself is checked against the node count by typha-replicas.

Severity: high for one replica or one node of a system-*-critical workload,
medium for other system workloads, low when only the PodDisruptionBudget is
missing.`,
	Remediation: `Run at least two replicas (three for quorum-based components), spread them
with topologySpreadConstraints or pod anti-affinity on kubernetes.io/hostname,
and add a PodDisruptionBudget (maxUnavailable: 1) selecting the pods. During
a cluster-wide restart, restart critical components one at a time and wait
for readiness in between.`,
	Params: []check.Param{
		{Name: "namespaces", Type: check.Text, Default: "kube-system",
			Doc: "Comma-separated namespaces whose workloads are all critical."},
		{Name: "ignore", Type: check.Text, Default: "",
			Doc: "Comma-separated namespace/name of workloads that run one replica by design (a leader-elected singleton you accept)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "replicas", Doc: "spec.replicas"},
		{Name: "readyReplicas", Doc: "status.readyReplicas"},
		{Name: "priorityClassName", Doc: "the pods' priority class"},
		{Name: "readyPodsByNode", Doc: "ready pods per node (when Pods were read)"},
		{Name: "podDisruptionBudgets", Doc: "PodDisruptionBudgets selecting the pods"},
	},
	Run: runSingleReplica,
}

func runSingleReplica(p *check.Pass) error {
	nss := map[string]bool{}
	for _, ns := range p.List("namespaces") {
		nss[ns] = true
	}
	havePDB, havePods := p.Has(snapshot.PodDisruptionBudgets), p.Has(snapshot.Pods)
	ignore := map[string]bool{}
	for _, x := range p.List("ignore") {
		ignore[x] = true
	}
	// Typha is typha-replicas' business.
	keep := func(w *replicated) bool {
		return (nss[w.Meta.Namespace] || workload.CriticalPriority(w.Template.Spec.PriorityClassName)) && w.Counts.Desired > 0 &&
			!ignore[w.Meta.Namespace+"/"+w.Meta.Name] && !typha(w)
	}
	for _, w := range workloads(p.Snapshot, keep) {
		pc := w.Template.Spec.PriorityClassName
		var problems []string
		sev := check.Low
		raise := func(s check.Severity) {
			if s > sev {
				sev = s
			}
		}
		important := check.Medium
		if workload.CriticalPriority(pc) {
			important = check.High
		}
		ev := map[string]any{"replicas": w.Counts.Desired, "readyReplicas": w.Counts.Ready}
		if pc != "" {
			ev["priorityClassName"] = pc
		}
		if w.Counts.Desired == 1 {
			problems = append(problems, "1 replica")
			raise(important)
		}
		if havePods {
			nodes := w.nodesOf()
			ev["readyPodsByNode"] = nodes
			if len(w.readyPods) >= 2 && len(nodes) == 1 {
				for n := range nodes {
					problems = append(problems, fmt.Sprintf("all %d ready replicas on node %s", len(w.readyPods), n))
				}
				raise(important)
			}
		}
		if havePDB {
			pdbs := matchingPDBs(p.Snapshot, w)
			if len(pdbs) == 0 {
				problems = append(problems, "no PodDisruptionBudget")
			} else {
				ev["podDisruptionBudgets"] = pdbs
			}
		}
		if len(problems) == 0 {
			continue
		}
		group := "apps"
		what := fmt.Sprintf("%s %s/%s", w.Kind, w.Meta.Namespace, w.Meta.Name)
		why := "it runs in " + w.Meta.Namespace
		if workload.CriticalPriority(pc) {
			why = "its pods run at priority " + pc
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s: %s", what, strings.Join(problems, ", ")),
			Message: fmt.Sprintf("%s is a critical component (%s) and %s. Losing one pod or one node, a drain or a "+
				"cluster-wide rolling restart can take it down entirely (incident 003).", what, why, strings.Join(problems, ", ")),
			Objects:  []check.Object{{Group: group, Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: ev,
		})
	}
	return nil
}

// matchingPDBs names the PodDisruptionBudgets that select the workload's pods.
func matchingPDBs(snap *snapshot.Snapshot, w *replicated) []string {
	var out []string
	for _, pdb := range snap.PodDisruptionBudgets {
		if pdb.Namespace != w.Meta.Namespace || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(w.Template.Labels)) {
			out = append(out, pdb.Name)
		}
	}
	slices.Sort(out)
	return out
}
