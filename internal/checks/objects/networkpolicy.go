package objects

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// NetworkPolicySprawl is the networkpolicy-sprawl check.
var NetworkPolicySprawl = &check.Check{
	ID:        "networkpolicy-sprawl",
	Title:     "NetworkPolicies piling up (per namespace, per release)",
	Category:  "growth",
	Severity:  check.High,
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.NetworkPolicies},
	Optional:  []snapshot.Resource{snapshot.CalicoNetworkPolicies},
	Doc: `Counts NetworkPolicies (networking.k8s.io, plus Calico's own
crd.projectcalico.org NetworkPolicies when the cluster serves them) cluster-wide,
per namespace and per Helm release. Every policy is computed by the CNI agent
on every node it applies to; thousands of them make Calico's Felix and Typha
slow, then crash-looping, and nodes drop out of the pod network one by one.
That was incident 001: a release per script run, each with its own
NetworkPolicy, ~2,000 policies.

Fires for the cluster above max-total, for a namespace above
max-per-namespace, and for a namespace where more than max-releases releases
of one chart each bring their own NetworkPolicies (policies that multiply
with every install). Severity is medium; high above twice a count threshold,
or when those releases bring more than max-per-release policies each.`,
	Remediation: `Find who creates the policies (labels helm.sh/chart, app.kubernetes.io/instance,
annotation meta.helm.sh/release-name) and make them shared: one policy selecting
all the tool's pods by label instead of one per run or per release. Uninstall
releases that are finished (see helm-release-per-run).`,
	Params: []check.Param{
		{Name: "max-total", Type: check.Int, Default: "1000", Doc: "Report a cluster with more NetworkPolicies than this."},
		{Name: "max-per-namespace", Type: check.Int, Default: "200", Doc: "Report a namespace with more NetworkPolicies than this."},
		{Name: "max-releases", Type: check.Int, Default: "10", Doc: "Report a namespace where more releases than this of one chart bring NetworkPolicies."},
		{Name: "max-per-release", Type: check.Int, Default: "5", Doc: "Raise the severity to high when those releases bring more than this many NetworkPolicies each."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "count", Doc: "NetworkPolicies in the cluster or namespace"},
		{Name: "threshold", Doc: "the count threshold"},
		{Name: "byGroup", Doc: "cluster-wide count by API group (networking.k8s.io, crd.projectcalico.org)"},
		{Name: "topNamespaces", Doc: "cluster-wide finding: namespaces with the most policies: name, count"},
		{Name: "namespace", Doc: "the namespace"},
		{Name: "chart", Doc: "the chart whose releases bring the most policies"},
		{Name: "releases", Doc: "releases of that chart bringing policies"},
		{Name: "fromReleases", Doc: "policies they bring"},
		{Name: "meanPerRelease", Doc: "policies per release"},
		{Name: "perRelease", Doc: "the five releases with the most: name, count"},
	},
	Run: runNetworkPolicySprawl,
}

func runNetworkPolicySprawl(p *check.Pass) error {
	kinds := []snapshot.Resource{snapshot.NetworkPolicies}
	if p.Has(snapshot.CalicoNetworkPolicies) && p.Snapshot.Metadata[snapshot.CalicoNetworkPolicies] != nil {
		kinds = append(kinds, snapshot.CalicoNetworkPolicies)
	}
	total := 0
	byGroup := map[string]int{}
	perNS := map[string]int{}
	perChart := map[string]map[string]*chartPolicies{} // namespace -> chart -> releases
	for _, r := range kinds {
		for i := range p.Snapshot.Metadata[r] {
			m := &p.Snapshot.Metadata[r][i].ObjectMeta
			total++
			byGroup[r.Group]++
			perNS[m.Namespace]++
			if rel := releaseOf(m); rel != "" {
				chart := nameStem(rel)
				if l := m.Labels[labelChart]; l != "" {
					chart = chartName(l)
				}
				if perChart[m.Namespace] == nil {
					perChart[m.Namespace] = map[string]*chartPolicies{}
				}
				c := perChart[m.Namespace][chart]
				if c == nil {
					c = &chartPolicies{chart: chart, releases: map[string]int{}}
					perChart[m.Namespace][chart] = c
				}
				c.releases[rel]++
				c.policies++
			}
		}
	}
	if limit := p.Int("max-total"); total > limit {
		p.Report(check.Finding{
			Severity: overSeverity(total, limit),
			Title:    fmt.Sprintf("%d NetworkPolicies in the cluster (threshold %d)", total, limit),
			Message: fmt.Sprintf("The cluster holds %d NetworkPolicies (threshold %d). The CNI agent on every node computes "+
				"them; at this scale Calico components hit their limits (incident 001).", total, limit),
			Evidence: map[string]any{"count": total, "threshold": limit, "byGroup": byGroup, "topNamespaces": topCounts(perNS, 5)},
		})
	}
	maxNS, maxRel, maxPer := p.Int("max-per-namespace"), p.Int("max-releases"), p.Int("max-per-release")
	for _, ns := range slices.Sorted(maps.Keys(perNS)) {
		var why []string
		s := check.Medium
		if perNS[ns] > maxNS {
			why = append(why, fmt.Sprintf("%d NetworkPolicies (threshold %d)", perNS[ns], maxNS))
			s = overSeverity(perNS[ns], maxNS)
		}
		ev := map[string]any{"namespace": ns, "count": perNS[ns], "threshold": maxNS}
		// The chart whose releases bring the most policies.
		var worst *chartPolicies
		for _, c := range perChart[ns] {
			if worst == nil || len(c.releases) > len(worst.releases) ||
				(len(c.releases) == len(worst.releases) && c.chart < worst.chart) {
				worst = c
			}
		}
		if worst != nil && len(worst.releases) > maxRel {
			mean := float64(worst.policies) / float64(len(worst.releases))
			why = append(why, fmt.Sprintf("%d releases of %s bring %d (%.1f per release)", len(worst.releases), worst.chart, worst.policies, mean))
			if mean > float64(maxPer) {
				s = check.High
			}
			ev["chart"] = worst.chart
			ev["releases"] = len(worst.releases)
			ev["fromReleases"] = worst.policies
			ev["meanPerRelease"] = float64(int(mean*10+0.5)) / 10
			ev["perRelease"] = topCounts(worst.releases, 5)
		}
		if len(why) == 0 {
			continue
		}
		p.Report(check.Finding{
			Severity: s,
			Title:    fmt.Sprintf("NetworkPolicies in %s: %s", ns, strings.Join(why, "; ")),
			Message: fmt.Sprintf("Namespace %s holds %d NetworkPolicies: %s. Policies that multiply with releases grow "+
				"until the CNI agents fail (incident 001).", ns, perNS[ns], strings.Join(why, "; ")),
			Objects:  []check.Object{{Kind: "Namespace", Name: ns}},
			Evidence: ev,
		})
	}
	return nil
}

// chartPolicies counts the NetworkPolicies the releases of one chart bring.
type chartPolicies struct {
	chart    string
	releases map[string]int // release -> policies
	policies int
}

// topCounts returns the n largest entries of m, largest first, as evidence.
func topCounts(m map[string]int, n int) []map[string]any {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	var out []map[string]any
	for _, k := range check.First(keys, n) {
		out = append(out, map[string]any{"name": k, "count": m[k]})
	}
	return out
}
