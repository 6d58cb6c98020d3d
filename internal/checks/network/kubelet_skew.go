package network

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// KubeletSkew is the kubelet-version-skew check.
var KubeletSkew = &check.Check{
	ID:        "kubelet-version-skew",
	Title:     "Kubelets outside the version-skew policy of the API server",
	Category:  "nodes",
	Severity:  check.High,
	Incidents: []string{"143", "144", "145"},
	Reads:     []snapshot.Resource{snapshot.Nodes},
	Doc: `Compares each node's kubelet minor version (status.nodeInfo.kubeletVersion)
with the API server's (the server version the read recorded) against the
Kubernetes version-skew policy: a kubelet must not be newer than the API
server, and may be at most max-behind minor versions older (3 since
Kubernetes 1.28; against an older API server, 2 whatever max-behind says). node-version-drift compares nodes with each
other; this check compares them with the control plane, which is what an
upgrade of either side runs into. Versions that do not parse (a fake
kubelet) are left out; without the API server's version the check does not
run.

In incidents 143, 144 and 145 an upgrade left kubelets newer than an API
server they still reached: they called APIs or set labels the older server
did not know, and pods did not start or nodes went degraded mid-upgrade.
Kubelets too far behind break the next control-plane upgrade the same way.

Severity: high for kubelets newer than the API server or further behind
than max-behind; low for kubelets exactly max-behind, which the next
control-plane minor upgrade puts out of policy.`,
	Remediation: `Upgrade the control plane before any kubelet (every API server instance, when
a load balancer spreads them), and upgrade or replace the nodes that lag
(drain, upgrade kubelet, uncordon) before the next control-plane upgrade.
Point control-plane kubelets at their local API server during upgrades.`,
	Params: []check.Param{
		{Name: "max-behind", Type: check.Int, Default: "3",
			Doc: "Minor versions a kubelet may lag the API server (the version-skew policy: 3 since 1.28)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "serverVersion", Doc: "the API server's gitVersion"},
		{Name: "direction", Doc: "newer, behind (out of policy) or at-limit"},
		{Name: "kubeletVersions", Doc: "nodes per kubelet version, of the nodes reported"},
		{Name: "count", Doc: "nodes reported"},
	},
	Run: runKubeletSkew,
}

var minorRE = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// minorOf returns the major and minor version of a gitVersion.
func minorOf(v string) (int, int, bool) {
	m := minorRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	return major, minor, err1 == nil && err2 == nil
}

func runKubeletSkew(p *check.Pass) error {
	server := p.Snapshot.Info.ServerVersion
	smaj, smin, ok := minorOf(server)
	if !ok {
		return p.NotRun("the API server's version is unknown (a snapshot file without it)")
	}
	type group struct {
		direction string
		sev       check.Severity
		nodes     []string
		versions  map[string]int
	}
	groups := map[string]*group{
		"newer":    {direction: "newer", sev: check.High, versions: map[string]int{}},
		"behind":   {direction: "behind", sev: check.High, versions: map[string]int{}},
		"at-limit": {direction: "at-limit", sev: check.Low, versions: map[string]int{}},
	}
	maxBehind := p.Int("max-behind")
	if smaj == 1 && smin < 28 {
		maxBehind = min(maxBehind, 2) // the policy before 1.28
	}
	// Nodes are cluster-scoped: sorting the names of each group afterwards
	// gives the order of sorted nodes without a sorted copy of them all.
	for i := range p.Snapshot.Nodes {
		n := &p.Snapshot.Nodes[i]
		v := n.Status.NodeInfo.KubeletVersion
		maj, minor, ok := minorOf(v)
		if !ok || maj != smaj {
			continue
		}
		var g *group
		switch lag := smin - minor; {
		case lag < 0:
			g = groups["newer"]
		case lag > maxBehind:
			g = groups["behind"]
		case lag == maxBehind && maxBehind > 0:
			g = groups["at-limit"]
		default:
			continue
		}
		g.nodes = append(g.nodes, n.Name)
		g.versions[v]++
	}
	for _, key := range []string{"newer", "behind", "at-limit"} {
		g := groups[key]
		if len(g.nodes) == 0 {
			continue
		}
		slices.Sort(g.nodes)
		versions := make([]string, 0, len(g.versions))
		for v := range g.versions {
			versions = append(versions, v)
		}
		slices.Sort(versions)
		var objs []check.Object
		for _, n := range check.First(g.nodes, 50) {
			objs = append(objs, check.Object{Kind: "Node", Name: n})
		}
		nodes := check.Plural(len(g.nodes), "node", "nodes")
		run := "run"
		if len(g.nodes) == 1 {
			run = "runs"
		}
		var title, msg string
		switch key {
		case "newer":
			title = fmt.Sprintf("%s %s a kubelet newer than the API server (%s)", nodes, run, server)
			msg = fmt.Sprintf("%s %s kubelet %s while the API server is %s. A kubelet must never be newer than the API server: "+
				"it calls APIs and sets fields the server does not know, and pods fail to start (incidents 143, 145).",
				nodes, run, strings.Join(versions, ", "), server)
		case "behind":
			title = fmt.Sprintf("%s %s a kubelet more than %d minor versions behind the API server (%s)", nodes, run, maxBehind, server)
			msg = fmt.Sprintf("%s %s kubelet %s, more than %d minor versions behind the API server %s: outside the version-skew "+
				"policy, the kubelet may not understand what the server sends it.", nodes, run, strings.Join(versions, ", "), maxBehind, server)
		default:
			title = fmt.Sprintf("%s %s a kubelet %d minor versions behind the API server (%s)", nodes, run, maxBehind, server)
			msg = fmt.Sprintf("%s %s kubelet %s, %d minor versions behind the API server %s: the limit of the version-skew policy. "+
				"Upgrading the control plane one more minor version puts them outside it; upgrade them first.",
				nodes, run, strings.Join(versions, ", "), maxBehind, server)
		}
		p.Report(check.Finding{
			Severity: g.sev,
			Title:    title,
			Message:  msg,
			Objects:  objs,
			Evidence: map[string]any{"serverVersion": server, "direction": g.direction, "kubeletVersions": g.versions, "count": len(g.nodes)},
		})
	}
	return nil
}
