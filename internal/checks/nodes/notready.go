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

// NotReady is the node-not-ready check.
var NotReady = &check.Check{
	ID:        "node-not-ready",
	Title:     "Nodes whose runtime or network is not ready",
	Category:  "nodes",
	Severity:  check.Critical,
	Incidents: []string{"004", "001"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Doc: `Finds nodes whose Ready condition is not True (False, Unknown, or missing)
or whose NetworkUnavailable condition is True (for longer than min-age), and
groups them by cause, read from the condition's reason and message:
"container runtime is down" / PLEG (runtime), "network plugin not ready" /
NetworkUnavailable (network), "Kubelet stopped posting node status" (kubelet
unreachable), anything else (other).

In incident 004 the kubelet said "container runtime is down" on some nodes
while containerd looked healthy: a kernel/netlink bug had it hang. In
incident 001 nodes dropped out one by one as Calico failed. A cluster losing
nodes to one cause is one incident, so each cause is one finding with its
nodes, the condition reason/message and when it last changed.

Severity: high; critical when the nodes of one cause reach critical-share of
all nodes.`,
	Remediation: `For runtime causes, check the runtime on the node (crictl info, systemctl status
containerd, a goroutine dump if it hangs) and compare the node's kernel with
healthy ones (see node-version-drift). For network causes, check the CNI
DaemonSet's pod on the node (see system-daemonset-unready). Cordon and drain
nodes that do not recover.`,
	Params: []check.Param{
		{Name: "min-age", Type: check.Duration, Default: "0s",
			Doc: "Ignore nodes whose condition changed less than this long ago; raise it (e.g. 5m) to ignore reboots."},
		{Name: "critical-share", Type: check.Float, Default: "0.1",
			Doc: "Share of all nodes (0.1 = 10%) with one cause at which the finding is critical."},
		{Name: "max-nodes-listed", Type: check.Int, Default: "20", Doc: "How many nodes a finding lists in its evidence."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "cause", Doc: "runtime, network, kubelet or other"},
		{Name: "count", Doc: "nodes with this cause"},
		{Name: "nodes", Doc: "nodes in the cluster"},
		{Name: "share", Doc: "count / nodes, as a percentage"},
		{Name: "notReady", Doc: "per node (at most max-nodes-listed): node, condition, status, reason, message, since, for"},
	},
	Run: runNotReady,
}

type causeInfo struct{ key, title string }

var (
	causeRuntime = causeInfo{"runtime", "container runtime not ready"}
	causeNetwork = causeInfo{"network", "network not ready"}
	causeKubelet = causeInfo{"kubelet", "kubelet stopped reporting"}
	causeOther   = causeInfo{"other", "NotReady"}
)

// cause classifies why a node is not ready.
func cause(ready *corev1.NodeCondition, netUnavailable bool) causeInfo {
	if ready == nil {
		return causeKubelet
	}
	text := strings.ToLower(ready.Reason + " " + ready.Message)
	// The kubelet's CNI message starts "container runtime network not ready",
	// so look for the network first.
	switch {
	case netUnavailable || strings.Contains(text, "network not ready") || strings.Contains(text, "networkready=false") ||
		strings.Contains(text, "network plugin") || strings.Contains(text, "cni"):
		return causeNetwork
	case strings.Contains(text, "container runtime") || strings.Contains(text, "pleg") ||
		strings.Contains(text, "runtime is down") || strings.Contains(text, "runtimeready=false"):
		return causeRuntime
	case ready.Status == corev1.ConditionUnknown || strings.Contains(text, "stopped posting"):
		return causeKubelet
	}
	return causeOther
}

func runNotReady(p *check.Pass) error {
	type bad struct {
		node string
		ev   map[string]any
	}
	groups := map[causeInfo][]bad{}
	total := len(p.Snapshot.Nodes)
	for i := range p.Snapshot.Nodes {
		n := &p.Snapshot.Nodes[i]
		ready := workload.NodeCondition(n, corev1.NodeReady)
		net := workload.NodeCondition(n, corev1.NodeNetworkUnavailable)
		netDown := net != nil && net.Status == corev1.ConditionTrue
		readyOK := ready != nil && ready.Status == corev1.ConditionTrue
		if readyOK && !netDown {
			continue
		}
		// The condition that is wrong, for its age and message.
		c := ready
		if readyOK {
			c = net
		}
		ev := map[string]any{"node": n.Name}
		if c != nil {
			if !c.LastTransitionTime.IsZero() {
				age := p.Now.Sub(c.LastTransitionTime.Time)
				if age < p.Duration("min-age") {
					continue
				}
				ev["since"] = check.FormatTime(c.LastTransitionTime.Time)
				ev["for"] = check.FormatAge(age)
			}
			ev["condition"] = string(c.Type)
			ev["status"] = string(c.Status)
			ev["reason"] = c.Reason
			ev["message"] = c.Message
		} else {
			ev["condition"] = "Ready"
			ev["status"] = "missing"
		}
		k := cause(ready, netDown)
		if readyOK && netDown {
			k = causeNetwork
		}
		groups[k] = append(groups[k], bad{n.Name, ev})
	}
	for k, nodes := range groups {
		slices.SortFunc(nodes, func(a, b bad) int { return cmp.Compare(a.node, b.node) })
		share := float64(len(nodes)) / float64(max(total, 1))
		sev := check.High
		if share >= p.Float("critical-share") && len(nodes) > 1 {
			sev = check.Critical
		}
		var objects []check.Object
		var list []map[string]any
		for i, b := range nodes {
			if i < 50 {
				objects = append(objects, check.Object{Kind: "Node", Name: b.node})
			}
			if i < p.Int("max-nodes-listed") {
				list = append(list, b.ev)
			}
		}
		first := nodes[0].ev
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s: %s (%.0f%% of nodes)", check.Plural(len(nodes), "node", "nodes"), k.title, share*100),
			Message: fmt.Sprintf("%s of %d (%.1f%%) %s: %s. First: %s %s=%s, reason %q, message %q.",
				check.Plural(len(nodes), "node", "nodes"), total, share*100, verb(len(nodes)), k.title,
				nodes[0].node, first["condition"], first["status"], first["reason"], first["message"]),
			Objects:  objects,
			Evidence: map[string]any{"cause": k.key, "count": len(nodes), "nodes": total, "share": fmt.Sprintf("%.1f%%", share*100), "notReady": list},
		})
	}
	return nil
}

func verb(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
