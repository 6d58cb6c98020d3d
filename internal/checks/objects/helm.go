package objects

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// HelmReleasePerRun is the helm-release-per-run check.
var HelmReleasePerRun = &check.Check{
	ID:       "helm-release-per-run",
	Title:    "Many Helm releases of one chart in one namespace (a release per run)",
	Category: "growth",
	Severity: check.Medium,
	Escalation: &check.Escalation{To: check.High,
		When: "one chart has more than five times max-releases releases in a namespace"},
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.Secrets},
	Optional: []snapshot.Resource{snapshot.ConfigMaps, snapshot.Jobs, snapshot.NetworkPolicies,
		snapshot.Deployments, snapshot.Services, snapshot.ServiceAccounts, snapshot.CalicoNetworkPolicies},
	Doc: `Finds a chart installed as many separate Helm releases in one namespace: the
sign of a tool that runs "helm install" with a fresh release name on every
invocation instead of upgrading one release. Each release brings its own
copy of every object in the chart (Jobs, NetworkPolicies, ConfigMaps,
ServiceAccounts) and its release records, and nothing uninstalls them.

Releases are found from Helm's release records (Secrets and ConfigMaps
labelled owner=helm, name=<release>; only their metadata is read, never their
data) and from objects labelled helm.sh/chart=<chart>-<version> with the
release in the meta.helm.sh/release-name annotation or the
app.kubernetes.io/instance label. Releases whose chart is unknown (records
only) are grouped by their name with per-run suffixes stripped. This is how
incident 001 began: a maintenance tool installed a release per script run,
and ~1,800 Jobs and ~2,000 NetworkPolicies accumulated until Calico failed.
Fires when one chart has more than max-releases releases in a namespace.`,
	Remediation: `Change the tool to reuse one release (helm upgrade --install <fixed-name>) or
to uninstall its release when the run ends (helm uninstall, or run the work
as a plain Job with ttlSecondsAfterFinished). Remove the releases already
there with helm uninstall -n <ns> <release>.`,
	Params: []check.Param{
		{Name: "max-releases", Type: check.Int, Default: "20",
			Doc: "Report a chart with more releases than this in one namespace."},
		{Name: "examples", Type: check.Int, Default: "5", Doc: "How many release names a finding lists."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "namespace", Doc: "the namespace"},
		{Name: "chart", Doc: "the chart (from helm.sh/chart), when known"},
		{Name: "nameStem", Doc: "the release name with per-run suffixes stripped, when the chart is unknown"},
		{Name: "releases", Doc: "how many releases"},
		{Name: "threshold", Doc: "max-releases"},
		{Name: "examples", Doc: "release names, sorted"},
		{Name: "objectsPerRelease", Doc: "objects per release, by kind (mean)"},
		{Name: "objectsTotal", Doc: "objects of all those releases, by kind"},
	},
	Run: runHelmReleasePerRun,
}

// A cluster holds tens of thousands of releases, most of one or two kinds
// and one record: slices rather than maps and strings built per release.
type release struct {
	namespace, name string
	chart           string      // "" when only the release record was seen
	kinds           []kindCount // objects of the release, by kind
	records         []record    // release record Secrets / ConfigMaps
}

type kindCount struct {
	kind string
	n    int
}

type record struct{ kind, name string }

// count counts one object of kind.
func (r *release) count(kind string) {
	for i := range r.kinds {
		if r.kinds[i].kind == kind {
			r.kinds[i].n++
			return
		}
	}
	r.kinds = append(r.kinds, kindCount{kind, 1})
}

// releases collects Helm releases by namespace and name.
func releases(snap *snapshot.Snapshot) map[[2]string]*release {
	out := map[[2]string]*release{}
	get := func(ns, name string) *release {
		k := [2]string{ns, name}
		if out[k] == nil {
			out[k] = &release{namespace: ns, name: name}
		}
		return out[k]
	}
	charts := map[string]string{} // helm.sh/chart label -> chart: a few charts label every release
	eachObject(snap, func(res snapshot.Resource, _ string, m *metav1.ObjectMeta) {
		if m.Namespace == "" {
			return
		}
		// Helm's storage: Secrets (default) or ConfigMaps, labelled owner=helm.
		if (res == snapshot.Secrets || res == snapshot.ConfigMaps) && m.Labels["owner"] == "helm" && m.Labels["name"] != "" {
			r := get(m.Namespace, m.Labels["name"])
			r.records = append(r.records, record{res.Kind, m.Name})
			return
		}
		name := releaseOf(m)
		if name == "" {
			return
		}
		r := get(m.Namespace, name)
		r.count(res.Kind)
		if c := m.Labels[labelChart]; c != "" && r.chart == "" {
			if _, ok := charts[c]; !ok {
				charts[c] = chartName(c)
			}
			r.chart = charts[c]
		}
	})
	return out
}

func runHelmReleasePerRun(p *check.Pass) error {
	type group struct {
		namespace, chart string
		byStem           bool
		releases         []*release
	}
	groups := map[[2]string]*group{}
	for _, r := range releases(p.Snapshot) {
		key, byStem := r.chart, false
		if key == "" {
			key, byStem = nameStem(r.name), true
		}
		k := [2]string{r.namespace, key}
		if byStem {
			k[1] = "\x00" + key // never merge a name stem with a chart of the same name
		}
		if groups[k] == nil {
			groups[k] = &group{namespace: r.namespace, chart: key, byStem: byStem}
		}
		groups[k].releases = append(groups[k].releases, r)
	}
	limit := p.Int("max-releases")
	for _, g := range groups {
		if len(g.releases) <= limit {
			continue
		}
		slices.SortFunc(g.releases, func(a, b *release) int { return cmp.Compare(a.name, b.name) })
		kinds := map[string]int{}
		var names []string
		objects := []check.Object{{Kind: "Namespace", Name: g.namespace}}
		for _, r := range g.releases {
			// The read path's order must not matter.
			slices.SortFunc(r.records, func(a, b record) int { return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name)) })
			names = append(names, r.name)
			for _, kc := range r.kinds {
				kinds[kc.kind] += kc.n
			}
			for _, rec := range r.records {
				if len(objects) <= 20 {
					objects = append(objects, check.Object{Kind: rec.kind, Namespace: g.namespace, Name: rec.name})
				}
			}
		}
		perRelease := map[string]float64{}
		var kindList []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			perRelease[k] = float64(int(float64(kinds[k])/float64(len(g.releases))*10+0.5)) / 10
			kindList = append(kindList, fmt.Sprintf("%s x%g", k, perRelease[k]))
		}
		what := "chart " + g.chart
		if g.byStem {
			what = "releases named " + g.chart + "-*"
		}
		creates := "no objects found in the snapshot (release records only)"
		if len(kindList) > 0 {
			creates = strings.Join(kindList, ", ")
		}
		sev := check.Medium
		if len(g.releases) > 5*limit {
			sev = check.High
		}
		ev := map[string]any{"namespace": g.namespace, "releases": len(g.releases), "threshold": limit,
			"examples": check.First(names, p.Int("examples")), "objectsPerRelease": perRelease, "objectsTotal": kinds}
		if g.byStem {
			ev["nameStem"] = g.chart
		} else {
			ev["chart"] = g.chart
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%d Helm releases of %s in %s", len(g.releases), what, g.namespace),
			Message: fmt.Sprintf("Namespace %s holds %d Helm releases of %s (threshold %d), e.g. %s. Each release brings "+
				"its own objects (per release: %s) and nothing removes them: this is one release per run, "+
				"as in incident 001.", g.namespace, len(g.releases), what, limit,
				strings.Join(check.First(names, 3), ", "), creates),
			Objects:  objects,
			Evidence: ev,
		})
	}
	return nil
}
