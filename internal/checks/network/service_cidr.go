package network

import (
	"fmt"
	"math"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// ServiceCIDRFull is the service-cidr-exhaustion check.
var ServiceCIDRFull = &check.Check{
	ID:       "service-cidr-exhaustion",
	Title:    "Service CIDR nearly out of ClusterIPs",
	Category: "network",
	Severity: check.High,
	Escalation: &check.Escalation{To: check.Critical,
		When: "the ranges have fewer than critical-free addresses left: the next Services are refused"},
	Incidents: []string{"136", "137", "138"},
	Reads:     []snapshot.Resource{snapshot.ServiceCIDRs, snapshot.Services},
	Doc: `Counts the ClusterIPs the Services hold in each range of the cluster's
ServiceCIDRs (networking.k8s.io/v1, served from Kubernetes 1.33; an older
cluster has none and the check stays quiet) and reports, per IP family, the
ranges in use when the share of addresses used reaches max-used. A family's
ranges are summed: adding a ServiceCIDR is how a cluster widens its range,
and a new one with room is the fix, not a finding. A range's usable size
leaves out, for IPv4, its network and broadcast addresses.

When the range is full the API server refuses every new Service ("failed to
allocate a serviceIP: range is full"): Helm releases and operators that
create Services fail (incident 136, a 32-address range; incident 138, /25).
Before ServiceCIDRs, widening the range meant recreating every Service
(incident 137).

Severity: high at max-used, critical when fewer than critical-free
addresses are left.`,
	Remediation: `Add a ServiceCIDR with a new, non-overlapping range (Kubernetes 1.33+;
kubectl create -f servicecidr.yaml), or delete unused Services. Headless
Services (clusterIP: None) need no address: use them where clients resolve
pods directly.`,
	Params: []check.Param{
		{Name: "max-used", Type: check.Float, Default: "0.8", Min: "0.01",
			Doc: "Share of a family's usable ClusterIPs (0.8 = 80%) in use at which to report."},
		{Name: "critical-free", Type: check.Int, Default: "16",
			Doc: "Free ClusterIPs below which the finding is critical."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "family", Doc: "IPv4 or IPv6"},
		{Name: "cidrs", Doc: "the family's ranges, from every ServiceCIDR"},
		{Name: "usable", Doc: "usable addresses in them"},
		{Name: "used", Doc: "ClusterIPs Services hold in them"},
		{Name: "free", Doc: "usable - used"},
		{Name: "share", Doc: "used / usable, as a percentage"},
	},
	Run: runServiceCIDRFull,
}

type cidrRange struct {
	owner  string // the ServiceCIDR
	prefix netip.Prefix
}

// usable is the number of ClusterIPs a range can hand out, capped where a
// float stops counting (an IPv6 /64 is never full).
func usable(p netip.Prefix) float64 {
	bits := p.Addr().BitLen() - p.Bits()
	n := math.Pow(2, float64(min(bits, 62)))
	if p.Addr().Is4() && bits >= 2 {
		n -= 2 // network and broadcast
	}
	return n
}

func runServiceCIDRFull(p *check.Pass) error {
	var ranges []cidrRange
	for _, sc := range check.SortedByName(p.Snapshot.ServiceCIDRs) {
		for _, c := range sc.Spec.CIDRs {
			if pr, err := netip.ParsePrefix(c); err == nil {
				ranges = append(ranges, cidrRange{sc.Name, pr.Masked()})
			}
		}
	}
	if len(ranges) == 0 {
		return nil
	}
	type family struct {
		owners       []string
		cidrs        []string
		usable, used float64
	}
	fams := map[string]*family{}
	famOf := func(a netip.Addr) string {
		if a.Is4() {
			return "IPv4"
		}
		return "IPv6"
	}
	for _, r := range ranges {
		f := fams[famOf(r.prefix.Addr())]
		if f == nil {
			f = &family{}
			fams[famOf(r.prefix.Addr())] = f
		}
		f.cidrs = append(f.cidrs, r.prefix.String())
		f.usable += usable(r.prefix)
		if len(f.owners) == 0 || f.owners[len(f.owners)-1] != r.owner {
			f.owners = append(f.owners, r.owner)
		}
	}
	for i := range p.Snapshot.Services {
		svc := &p.Snapshot.Services[i]
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		ips := svc.Spec.ClusterIPs
		if len(ips) == 0 && svc.Spec.ClusterIP != "" {
			ips = []string{svc.Spec.ClusterIP}
		}
		for _, ip := range ips {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				continue // "None": headless
			}
			for _, r := range ranges {
				if r.prefix.Contains(a.Unmap()) {
					fams[famOf(r.prefix.Addr())].used++
					break
				}
			}
		}
	}
	for _, name := range []string{"IPv4", "IPv6"} {
		f := fams[name]
		if f == nil || f.usable <= 0 {
			continue
		}
		share := f.used / f.usable
		if share < p.Float("max-used") {
			continue
		}
		free := max(0, f.usable-f.used)
		sev := check.High
		if free < float64(p.Int("critical-free")) {
			sev = check.Critical
		}
		var objs []check.Object
		for _, o := range f.owners {
			objs = append(objs, check.Object{Group: "networking.k8s.io", Kind: "ServiceCIDR", Name: o})
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s Service range %.0f%% used: %.0f of %.0f ClusterIPs free", name, share*100, free, f.usable),
			Message: fmt.Sprintf("Services hold %.0f of the %.0f usable %s ClusterIPs of %v (%.1f%%); %.0f are left. When none are, "+
				"the API server refuses every new Service with \"range is full\" (incidents 136, 138).",
				f.used, f.usable, name, f.cidrs, share*100, free),
			Objects: objs,
			Evidence: map[string]any{"family": name, "cidrs": f.cidrs, "usable": f.usable, "used": f.used, "free": free,
				"share": fmt.Sprintf("%.1f%%", share*100)},
		})
	}
	return nil
}
