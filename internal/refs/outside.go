package refs

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/snapshot"
)

// Inside knows the cluster's own client addresses, for premortem refs
// --audit: node addresses, pod IPs, the nodes' pod CIDRs (which also hold
// the addresses of pods gone since) and CIDRs given by the user. A client
// of the API server from any other address is outside the cluster: no
// search of the cluster finds its configuration (incident 002's checker
// kept its kubeconfig on a VM).
type Inside struct {
	nodes    map[netip.Addr]bool
	pods     map[netip.Addr]bool
	podCIDRs []netip.Prefix
	extra    []netip.Prefix
	counts   InsideCounts
}

// InsideCounts say what the classification knew.
type InsideCounts struct {
	Nodes         int      `json:"nodes"`
	NodeAddresses int      `json:"nodeAddresses"`
	Pods          int      `json:"pods"`
	PodAddresses  int      `json:"podAddresses"`
	PodCIDRs      []string `json:"podCIDRs"`
	ClusterCIDRs  []string `json:"clusterCIDRs"`
}

// Reads are the kinds Inside needs: pods are visited as the LIST streams
// them (their IPs are trimmed from a snapshot), nodes come from the
// snapshot.
var InsideReads = []snapshot.Resource{snapshot.Pods, snapshot.Nodes}

// NewInside starts with extra, CIDRs the user says are the cluster's
// (--cluster-cidr: pod networks whose nodes do not carry a podCIDR).
func NewInside(extra []netip.Prefix) *Inside {
	in := &Inside{nodes: map[netip.Addr]bool{}, pods: map[netip.Addr]bool{}, extra: extra}
	in.counts.PodCIDRs, in.counts.ClusterCIDRs = []string{}, []string{}
	for _, p := range extra {
		in.counts.ClusterCIDRs = append(in.counts.ClusterCIDRs, p.String())
	}
	return in
}

// Visit learns a pod's addresses (kube.Visitor); other objects are ignored.
func (in *Inside) Visit(_ snapshot.Resource, obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	in.counts.Pods++
	for _, ip := range p.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil && !p.Spec.HostNetwork {
			if !in.pods[a.Unmap()] {
				in.counts.PodAddresses++
			}
			in.pods[a.Unmap()] = true
		}
	}
}

// AddSnapshot learns the nodes' addresses and pod CIDRs.
func (in *Inside) AddSnapshot(snap *snapshot.Snapshot) {
	for _, n := range snap.Nodes {
		in.counts.Nodes++
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				if !in.nodes[ip.Unmap()] {
					in.counts.NodeAddresses++
				}
				in.nodes[ip.Unmap()] = true
			}
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			if p, err := netip.ParsePrefix(c); err == nil {
				in.podCIDRs = append(in.podCIDRs, p.Masked())
				in.counts.PodCIDRs = append(in.counts.PodCIDRs, p.Masked().String())
			}
		}
	}
}

// Classify says what a client address is: "loopback" (the API server's own
// host: control-plane components that reach it on localhost), "node",
// "pod" (a pod IP, or in a pod CIDR), "cluster CIDR", or "" when outside.
// It is safe for concurrent use once the addresses are learnt.
func (in *Inside) Classify(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case in.nodes[a]:
		return "node"
	case in.pods[a]:
		return "pod"
	}
	for _, p := range in.podCIDRs {
		if p.Contains(a) {
			return "pod"
		}
	}
	for _, p := range in.extra {
		if p.Contains(a) {
			return "cluster CIDR"
		}
	}
	return ""
}

// OutsideResult is premortem refs --audit: the identities that reached the
// API server from outside the cluster.
type OutsideResult struct {
	Inputs []audit.InputSummary `json:"inputs"`
	From   time.Time            `json:"from"`
	To     time.Time            `json:"to"`
	Known  InsideCounts         `json:"known"`
	*audit.OutsideReport
	// NotRead lists what could not be read: a kind (its addresses then
	// look outside), a log that ended early.
	NotRead []string `json:"notRead,omitempty"`
}

// NewOutsideResult puts an audit report and what Inside knew together.
func NewOutsideResult(r *audit.Report, in *Inside, skipped []snapshot.Skipped) *OutsideResult {
	o := &OutsideResult{Inputs: r.Inputs, From: r.From, To: r.To, Known: in.counts, OutsideReport: r.Outside}
	for _, s := range skipped {
		if s.Resource == snapshot.Pods || s.Resource == snapshot.Nodes {
			o.NotRead = append(o.NotRead, s.Resource.Name()+": "+s.Reason+" (their addresses look outside)")
		}
	}
	for _, i := range r.Inputs {
		if i.Truncated != "" {
			o.NotRead = append(o.NotRead, i.Name+": "+i.Truncated)
		}
	}
	return o
}

// Complete reports whether everything was read.
func (o *OutsideResult) Complete() bool { return len(o.NotRead) == 0 }
