package workload

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// SystemNamespace holds the cluster's own components: everything in it is
// critical.
const SystemNamespace = "kube-system"

// CriticalPriority reports whether a priority class is one of the built-in
// classes for components a node or the cluster cannot run without.
func CriticalPriority(class string) bool {
	return class == "system-cluster-critical" || class == "system-node-critical"
}

// CriticalPod reports whether a pod is critical by where it runs or its
// priority: in kube-system, or at a system-*-critical priority.
func CriticalPod(p *corev1.Pod) bool {
	return p.Namespace == SystemNamespace || CriticalPriority(p.Spec.PriorityClassName)
}

// Role is what a known component does for the cluster.
type Role string

// Roles of the known components, from the bottom of the network up.
const (
	// RoleTypha: Calico's fan-out server between the API server and every
	// calico-node (incident 003).
	RoleTypha Role = "typha"
	// RoleCalicoNode: Calico's per-node agent, Typha's client.
	RoleCalicoNode Role = "calico-node"
	// RoleNetwork: the rest of the pod network (CNI agents, operators).
	RoleNetwork Role = "network"
	// RoleProxy: service routing, on top of the pod network.
	RoleProxy Role = "proxy"
	// RoleDNS: name resolution, on top of service routing.
	RoleDNS Role = "dns"
)

// Component is a known critical component.
type Component struct {
	Name string
	Role Role
}

type known struct {
	Component
	match func(name string) bool
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}
func exact(p ...string) func(string) bool {
	return func(s string) bool { return slices.Contains(p, s) }
}
func contains(p string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, p) }
}

// components is checked in order and the first match wins, so the specific
// calico entries come before the calico-* catch-all.
var components = []known{
	{Component{"calico-typha", RoleTypha}, contains("typha")},
	{Component{"calico-node", RoleCalicoNode}, prefix("calico-node")},
	{Component{"calico", RoleNetwork}, prefix("calico-")},
	{Component{"cilium", RoleNetwork}, prefix("cilium")},
	{Component{"flannel", RoleNetwork}, contains("flannel")},
	{Component{"canal", RoleNetwork}, exact("canal")},
	{Component{"weave-net", RoleNetwork}, exact("weave-net")},
	{Component{"antrea", RoleNetwork}, prefix("antrea-")},
	{Component{"kube-router", RoleNetwork}, exact("kube-router")},
	{Component{"aws-node", RoleNetwork}, exact("aws-node")},
	{Component{"azure-cni", RoleNetwork}, prefix("azure-cni")},
	{Component{"ovnkube", RoleNetwork}, prefix("ovnkube")},
	{Component{"multus", RoleNetwork}, contains("multus")},
	{Component{"kube-ovn", RoleNetwork}, prefix("kube-ovn")},
	{Component{"kube-proxy", RoleProxy}, exact("kube-proxy")},
	{Component{"coredns", RoleDNS}, exact("coredns")},
	{Component{"kube-dns", RoleDNS}, exact("kube-dns")},
	{Component{"node-local-dns", RoleDNS}, exact("node-local-dns", "nodelocaldns")},
}

// nameLabels are the labels that name the application a workload runs.
var nameLabels = []string{"k8s-app", "app.kubernetes.io/name", "app"}

// Names are what a workload goes by: its own name, then the k8s-app,
// app.kubernetes.io/name and app labels of the workload and of its pod
// template.
type Names struct {
	Name                   string
	Labels, TemplateLabels map[string]string
}

// Names are the workload's names.
func (w *Workload) Names() Names {
	return Names{Name: w.Meta.Name, Labels: w.Meta.Labels, TemplateLabels: w.Template.Labels}
}

// any reports whether match accepts one of the names.
func (n Names) any(match func(string) bool) bool {
	if match(n.Name) {
		return true
	}
	for _, key := range nameLabels {
		if v := n.Labels[key]; v != "" && match(v) {
			return true
		}
	}
	for _, key := range nameLabels {
		if v := n.TemplateLabels[key]; v != "" && match(v) {
			return true
		}
	}
	return false
}

// Identify returns the known component the workload is.
func (n Names) Identify() (Component, bool) {
	for _, c := range components {
		if n.any(c.match) {
			return c.Component, true
		}
	}
	return Component{}, false
}

// Typha reports whether the workload is Calico's Typha.
func (n Names) Typha() bool {
	c, ok := n.Identify()
	return ok && c.Role == RoleTypha
}

// networkWords mark CNI and service-proxy agents beyond the known
// components: a name containing one is taken for the pod network.
var networkWords = []string{"calico", "cilium", "kube-proxy", "flannel", "weave", "canal", "antrea",
	"kube-router", "aws-node", "azure-cni", "ovnkube", "multus", "kube-ovn", "cni"}

func networkWord(s string) bool {
	return slices.ContainsFunc(networkWords, func(w string) bool { return strings.Contains(s, w) })
}

// Networking reports whether the workload is part of the pod network or
// service routing: a known network component, or a name that contains one
// of the usual CNI words. It is broader than Identify (a "cni" anywhere in a
// name counts), for judging an agent already known to be a system one.
func (n Names) Networking() bool {
	if c, ok := n.Identify(); ok && c.Role != RoleDNS {
		return true
	}
	return n.any(networkWord)
}

// Criticality says why a workload is critical.
type Criticality struct {
	// Reasons, sorted: "known component calico-typha", "namespace
	// kube-system", "priorityClassName system-node-critical". None: the
	// workload is not critical.
	Reasons []string
	// Component is the known component it is, if any.
	Component Component
}

// Critical reports whether there is any reason.
func (c Criticality) Critical() bool { return len(c.Reasons) > 0 }

// Classify says why w is critical: it runs in kube-system, its pods run at a
// system-*-critical priority, or it is a known component.
func (w *Workload) Classify() Criticality {
	var c Criticality
	if w.Meta.Namespace == SystemNamespace {
		c.Reasons = append(c.Reasons, "namespace "+w.Meta.Namespace)
	}
	if pc := w.Template.Spec.PriorityClassName; CriticalPriority(pc) {
		c.Reasons = append(c.Reasons, "priorityClassName "+pc)
	}
	if comp, ok := w.Names().Identify(); ok {
		c.Component = comp
		c.Reasons = append(c.Reasons, "known component "+comp.Name)
	}
	slices.Sort(c.Reasons)
	return c
}
