package network

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// NodesCordoned is the nodes-cordoned check.
var NodesCordoned = &check.Check{
	ID:        "nodes-cordoned",
	Title:     "Nodes left cordoned: capacity no new pod can use",
	Category:  "nodes",
	Severity:  check.High,
	Incidents: []string{"150", "151", "152"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Doc: `Finds nodes closed to new pods: cordoned (spec.unschedulable) or tainted
ToBeDeletedByClusterAutoscaler, for longer than min-age. Since when is read
from the taints: the node.kubernetes.io/unschedulable taint's timeAdded
(the node controller adds it when a node is cordoned) or the cluster
autoscaler's taint value (a Unix time). Virtual nodes (EKS Fargate,
virtual-kubelet) are left out.

A cordon is meant to last a drain. When the drain fails, the cordon stays:
an autoscaler that drained a node but could not delete it (incident 150),
a reboot daemon whose drain a PodDisruptionBudget blocked (incident 151),
an operator retrying a drain that cannot finish (incident 152). The
cluster keeps running on fewer nodes than anyone thinks, and the next
rollout or node failure finds no room.

Severity: high when cordoned nodes reach max-share of the schedulable
capacity (nodes) and there are two or more; medium when any node has been
cordoned for longer than max-age.`,
	Remediation: `For each node, find who cordoned it and why the drain did not finish
(kubectl describe node: taints and events; the autoscaler's or the reboot
daemon's logs; PodDisruptionBudgets that allow no eviction). Finish the
drain and delete or repair the node, or uncordon it (kubectl uncordon).`,
	Params: []check.Param{
		{Name: "min-age", Type: check.Duration, Default: "1h",
			Doc: "Nodes cordoned for less than this are draining, not left cordoned."},
		{Name: "max-share", Type: check.Float, Default: "0.2", Min: "0.01",
			Doc: "Share of the nodes (0.2 = 20%) cordoned at which the finding is high."},
		{Name: "max-age", Type: check.Duration, Default: "24h",
			Doc: "A node cordoned for longer than this is reported whatever the share."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "count", Doc: "nodes cordoned for longer than min-age"},
		{Name: "nodes", Doc: "nodes in the cluster, virtual ones aside"},
		{Name: "share", Doc: "count / nodes, as a percentage"},
		{Name: "cordoned", Doc: "per node (at most 20): node, by (cordon or cluster-autoscaler), since, for (when known)"},
	},
	Run: runNodesCordoned,
}

// autoscalerTaint is the taint the cluster autoscaler puts on a node it is
// about to delete; its value is the Unix time it did.
const autoscalerTaint = "ToBeDeletedByClusterAutoscaler"

// cordonedSince says whether a node is closed to new pods, by what, and
// since when (zero when nothing records it).
func cordonedSince(n *corev1.Node) (by string, since time.Time, ok bool) {
	for _, t := range n.Spec.Taints {
		if t.Key == autoscalerTaint {
			if sec, err := strconv.ParseInt(t.Value, 10, 64); err == nil {
				since = time.Unix(sec, 0)
			}
			return "cluster-autoscaler", since, true
		}
	}
	if !n.Spec.Unschedulable {
		return "", time.Time{}, false
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeUnschedulable && t.TimeAdded != nil {
			since = t.TimeAdded.Time
		}
	}
	return "cordon", since, true
}

func runNodesCordoned(p *check.Pass) error {
	total := 0
	type entry struct {
		name  string
		ev    map[string]any
		stale bool // cordoned longer than max-age
	}
	var found []entry
	// Sort only the closed nodes: most of a large cluster's are open.
	var closed []corev1.Node
	for i := range p.Snapshot.Nodes {
		n := &p.Snapshot.Nodes[i]
		if virtualNode(n) {
			continue
		}
		total++
		if _, _, ok := cordonedSince(n); ok {
			closed = append(closed, *n)
		}
	}
	for _, n := range check.SortedByName(closed) {
		by, since, _ := cordonedSince(&n)
		ev := map[string]any{"node": n.Name, "by": by}
		e := entry{name: n.Name, ev: ev}
		if !since.IsZero() {
			age := p.Now.Sub(since)
			if age < p.Duration("min-age") {
				continue
			}
			ev["since"], ev["for"] = check.FormatTime(since), check.FormatAge(age)
			e.stale = age >= p.Duration("max-age")
		}
		found = append(found, e)
	}
	if len(found) == 0 || total == 0 {
		return nil
	}
	share := float64(len(found)) / float64(total)
	var stale []string
	for _, e := range found {
		if e.stale {
			stale = append(stale, e.name)
		}
	}
	sev := check.Medium
	switch {
	case share >= p.Float("max-share") && len(found) > 1:
		sev = check.High
	case len(stale) == 0:
		return nil
	}
	var objs []check.Object
	var list []map[string]any
	var names []string
	for i, e := range found {
		if i < 50 {
			objs = append(objs, check.Object{Kind: "Node", Name: e.name})
		}
		if i < 20 {
			list = append(list, e.ev)
		}
		names = append(names, e.name)
	}
	old := ""
	if len(stale) > 0 {
		old = fmt.Sprintf(" %s cordoned for more than %s: %s.", check.Plural(len(stale), "node has been", "nodes have been"),
			check.FormatAge(p.Duration("max-age")), strings.Join(check.First(stale, 5), ", "))
	}
	p.Report(check.Finding{
		Severity: sev,
		Title:    fmt.Sprintf("%s cordoned (%.0f%% of nodes)", check.Plural(len(found), "node", "nodes"), share*100),
		Message: fmt.Sprintf("%s of %d (%.1f%%) take no new pods and have for over %s: %s.%s A cordon is meant to last a drain; "+
			"one left behind by a failed drain hides lost capacity until a rollout or a node failure needs it (incidents 150, 151).",
			check.Plural(len(found), "node", "nodes"), total, share*100, check.FormatAge(p.Duration("min-age")),
			strings.Join(check.First(names, 5), ", "), old),
		Objects:  objs,
		Evidence: map[string]any{"count": len(found), "nodes": total, "share": fmt.Sprintf("%.1f%%", share*100), "cordoned": list},
	})
	return nil
}
