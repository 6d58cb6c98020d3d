package restart

import (
	"sort"
	"strings"
)

// Tiers order the critical phase: each layer of the pod network is
// restarted while the layers it stands on are settled and fully ready.
const (
	// tierTypha: Calico's fan-out server between the API server and every
	// calico-node. Restarted first, alone, while calico-node is fully ready
	// and keeps its programmed dataplane and BGP sessions (felix reconnects
	// to another typha replica).
	tierTypha = 10
	// tierCalicoNode: typha's clients. Restarted only once typha is fully
	// ready again, so every new calico-node gets its configuration at once
	// and re-peers BGP within the routers' graceful-restart window.
	// Restarting typha while calico-node pods were still initialising is
	// what took the network down in incident 003.
	tierCalicoNode = 20
	// tierCNI: the rest of the pod network (operators, other CNIs).
	tierCNI = 30
	// tierProxy: service routing, on top of the pod network.
	tierProxy = 40
	// tierDNS: name resolution, on top of service routing.
	tierDNS = 50
	// tierOther: everything else critical (kube-system, critical priority).
	tierOther = 60
)

// component is a known critical component, matched by workload name or by
// the k8s-app / app.kubernetes.io/name label of its pod template.
type component struct {
	name  string
	tier  int
	match func(name string) bool
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}
func exact(p string) func(string) bool { return func(s string) bool { return s == p } }
func contains(p string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, p) }
}

// components is checked in order; the first match wins, so the specific
// calico entries come before the calico-* catch-all.
var components = []component{
	{"calico-typha", tierTypha, contains("typha")},
	{"calico-node", tierCalicoNode, prefix("calico-node")},
	{"calico", tierCNI, prefix("calico-")},
	{"cilium", tierCNI, prefix("cilium")},
	{"flannel", tierCNI, contains("flannel")},
	{"canal", tierCNI, exact("canal")},
	{"weave-net", tierCNI, exact("weave-net")},
	{"antrea", tierCNI, prefix("antrea-")},
	{"kube-router", tierCNI, exact("kube-router")},
	{"kube-proxy", tierProxy, exact("kube-proxy")},
	{"coredns", tierDNS, exact("coredns")},
	{"kube-dns", tierDNS, exact("kube-dns")},
	{"node-local-dns", tierDNS, func(s string) bool { return s == "node-local-dns" || s == "nodelocaldns" }},
}

// dependencies are the known server/client pairs: neither side is
// restarted while the other is rolling or not fully ready (incident 003).
var dependencies = []struct{ server, client string }{
	{"calico-typha", "calico-node"},
}

// criticalPriorityClasses are the built-in classes for components a node or
// the cluster cannot run without.
var criticalPriorityClasses = map[string]bool{"system-cluster-critical": true, "system-node-critical": true}

// criticalNamespaces hold the cluster's own components.
var criticalNamespaces = map[string]bool{"kube-system": true}

// classification says whether a workload is critical, why, and where it
// goes in the critical phase.
type classification struct {
	reasons   []string
	tier      int
	component string // known component name, or ""
}

func (c classification) critical() bool { return len(c.reasons) > 0 }

func classify(w *workload) classification {
	var c classification
	c.tier = tierOther
	if criticalNamespaces[w.ref.Namespace] {
		c.reasons = append(c.reasons, "namespace "+w.ref.Namespace)
	}
	if pc := w.template.Spec.PriorityClassName; criticalPriorityClasses[pc] {
		c.reasons = append(c.reasons, "priorityClassName "+pc)
	}
	names := []string{w.ref.Name}
	for _, key := range []string{"k8s-app", "app.kubernetes.io/name", "app"} {
		if v := w.template.Labels[key]; v != "" {
			names = append(names, v)
		}
	}
	for _, comp := range components {
		if matchesAny(comp.match, names) {
			c.component, c.tier = comp.name, comp.tier
			c.reasons = append(c.reasons, "known component "+comp.name)
			break
		}
	}
	sort.Strings(c.reasons)
	return c
}

func matchesAny(match func(string) bool, names []string) bool {
	for _, n := range names {
		if match(n) {
			return true
		}
	}
	return false
}
