package etcd

import (
	"fmt"
	"maps"
	"slices"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// HelmReleaseHistory is the helm-release-history check.
var HelmReleaseHistory = &check.Check{
	ID:       "helm-release-history",
	Title:    "Helm releases keeping a long history of release records",
	Category: "storage",
	Severity: check.Medium,
	Escalation: &check.Escalation{To: check.High,
		When: "one release keeps more than ten times max-revisions records"},
	Incidents: []string{"259", "260"},
	Reads:     []snapshot.Resource{snapshot.Secrets},
	Optional:  []snapshot.Resource{snapshot.ConfigMaps},
	Doc: `Counts the release records Helm keeps per release: one per revision, each a
Secret (Helm 3, labels owner=helm, name=<release>) or a ConfigMap (Helm 2's
Tiller, OWNER=TILLER, or HELM_DRIVER=configmap) holding the whole rendered
chart, up to 1 MiB each. Helm keeps every revision unless told otherwise
(helm install and SDK users have no maximum; Tiller had none by default), so
a release upgraded by a pipeline on every commit grows its records without
end. With 1,000+ records helm ls took 50 s and Tiller ran out of memory
(incident 259); without max_history, helm list and install failed on
timeouts reading the records (incident 260). The records are stored in etcd
and sent to every client listing Secrets: kubelets' and controllers'
informers included.

Only the records' metadata is read, never their data. Reports a release
with more than max-revisions records, one finding per namespace.`,
	Remediation: `Upgrade with a maximum history (helm upgrade --history-max 10; Terraform's
helm_release max_history; Flux's spec.maxHistory) and delete the oldest
records of each release (kubectl -n <ns> delete secret
sh.helm.release.v1.<release>.v<N> for old N); Helm keeps working with the
newest ones.`,
	Params: []check.Param{
		{Name: "max-revisions", Type: check.Int, Default: "30", Min: "1",
			Doc: "Report a release with more release records than this (helm upgrade's default --history-max is 10)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "namespace", Doc: "the namespace"},
		{Name: "threshold", Doc: "max-revisions"},
		{Name: "records", Doc: "release records of the releases reported, together"},
		{Name: "releases", Doc: "the releases reported, most records first (at most ten): name, records, kind (Secret or ConfigMap)"},
	},
	Run: runHelmReleaseHistory,
}

func runHelmReleaseHistory(p *check.Pass) error {
	byNS := piles{}
	collect := func(r snapshot.Resource) {
		list := p.Snapshot.Metadata[r]
		for i := range list {
			m := &list[i].ObjectMeta
			// Helm 2 and 3 records of one name are two histories: keyed by kind too.
			if name, ok := helmRecord(m.Labels); ok && m.Namespace != "" {
				byNS.add(m.Namespace, r.Kind, name, m)
			}
		}
	}
	collect(snapshot.Secrets)
	if p.Has(snapshot.ConfigMaps) {
		collect(snapshot.ConfigMaps)
	}
	limit := p.Int("max-revisions")
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		over := byNS.over(ns, limit)
		if len(over) == 0 {
			continue
		}
		sev, total := check.Medium, 0
		var objects []check.Object
		var rels []map[string]any
		for _, r := range over {
			total += len(r.members)
			if len(r.members) > 10*limit {
				sev = check.High
			}
			if len(rels) < 10 {
				rels = append(rels, map[string]any{"name": r.name, "records": len(r.members), "kind": r.kind})
			}
			var names []string
			for _, m := range r.members {
				names = append(names, m.Name)
			}
			slices.Sort(names)
			for _, rec := range check.First(names, 3) {
				if len(objects) < 20 {
					objects = append(objects, check.Object{Kind: r.kind, Namespace: ns, Name: rec})
				}
			}
		}
		top := over[0]
		p.Report(check.Finding{
			Severity: sev,
			Title: fmt.Sprintf("%s in %s %s %d release records (most: %d for %s)",
				check.Plural(len(over), "Helm release", "Helm releases"), ns, verb(len(over), "keeps", "keep"), total, len(top.members), top.name),
			Message: fmt.Sprintf("In namespace %s, %s %s more than %d release records each (%d together): one per revision, "+
				"each holding the whole rendered chart, and nothing removes them. Listing them grows slow until Helm itself "+
				"times out (incidents 259, 260).", ns, check.Plural(len(over), "Helm release", "Helm releases"), verb(len(over), "keeps", "keep"), limit, total),
			Objects:  objects,
			Evidence: map[string]any{"namespace": ns, "threshold": limit, "records": total, "releases": rels},
		})
	}
	return nil
}
