package etcd

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// maxConfigMapBytes is what the API server accepts in one ConfigMap's data
// and binaryData together (validation: corev1.MaxSecretSize, 1 MiB).
const maxConfigMapBytes = 1 << 20

// ConfigMapNearSizeLimit is the configmap-near-size-limit check.
var ConfigMapNearSizeLimit = &check.Check{
	ID:       "configmap-near-size-limit",
	Title:    "ConfigMaps near the 1 MiB object size limit",
	Category: "storage",
	Severity: check.Medium,
	Escalation: &check.Escalation{To: check.High,
		When: "a ConfigMap's data reaches high-ratio of the limit"},
	Incidents: []string{"258", "257"},
	Reads:     []snapshot.Resource{snapshot.ConfigMaps},
	Doc: `Measures each ConfigMap's data as the API server does when it validates one
(the length of every key plus its value) and reports those at or above
min-ratio of the 1 MiB limit. The next write that grows such a ConfigMap is
refused (422 "Too long: must have at most 1048576 bytes"), and etcd rejects
any single write above its --max-request-bytes (1.5 MiB by default), so
whatever keeps its state there stops: a controller's state ConfigMap
(incident 258), Helm release records kept in ConfigMaps (Helm 2's Tiller,
or HELM_DRIVER=configmap: the upgrade fails, incident 257), Grafana
dashboards or CA bundles collected into one object. Each update of a large
ConfigMap is also sent whole to every watcher, every kubelet whose pods
mount it included. Immutable ConfigMaps are never written again, and no
kubelet watches them: they are left out.

Which ConfigMaps are measured: a live read lists ConfigMaps metadata-only
and reads the data only of the ones workloads mount or take env from and of
Helm release records (labels owner=helm and name, or OWNER=TILLER and NAME),
one GET each: the data of every ConfigMap would be the most expensive read
of a scan (up to 1 MiB each). A large ConfigMap that no workload uses and
that is not a Helm record (a controller's state, as in incident 258) is
measured only in a snapshot file, which is read whole. Only data is
measured: binaryData is not kept by the read, so a ConfigMap holding binary
data may be larger than reported. Secrets have the same
limit but are read metadata-only; their data is never read, so their size
is not checked (Helm 3's release Secrets included). Severity is medium at
min-ratio, high at high-ratio.`,
	Remediation: `Split the data over several ConfigMaps, or move it out of the cluster (an
image, object storage) and keep only a reference. For Helm release records,
shrink the chart (.helmignore bundled files, large values) and lower
--history-max; for dashboards, one ConfigMap per dashboard.`,
	Params: []check.Param{
		{Name: "min-ratio", Type: check.Float, Default: "0.75", Min: "0.01",
			Doc: "Report a ConfigMap whose data is at least this fraction of 1 MiB."},
		{Name: "high-ratio", Type: check.Float, Default: "0.9", Min: "0.01",
			Doc: "Report it as high from this fraction of 1 MiB."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "bytes", Doc: "size of the data: keys and values, in bytes"},
		{Name: "limit", Doc: "the API server's limit, 1048576 bytes"},
		{Name: "percent", Doc: "bytes as a percentage of the limit"},
		{Name: "largestKeys", Doc: "the three largest keys: key, bytes"},
		{Name: "helmRelease", Doc: "the Helm release whose record this is (labels owner=helm, name; Helm 2: OWNER=TILLER, NAME), when it is one"},
	},
	Run: runConfigMapNearSizeLimit,
}

// dataSize is what validation counts against the limit, less binaryData
// (not read).
func dataSize(cm *corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	return n
}

func runConfigMapNearSizeLimit(p *check.Pass) error {
	low, high := p.Float("min-ratio")*maxConfigMapBytes, p.Float("high-ratio")*maxConfigMapBytes
	for i := range p.Snapshot.ConfigMaps {
		cm := &p.Snapshot.ConfigMaps[i]
		n := dataSize(cm)
		if float64(n) < low || (cm.Immutable != nil && *cm.Immutable) {
			continue
		}
		keys := slices.Sorted(maps.Keys(cm.Data))
		slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(len(cm.Data[b]), len(cm.Data[a])) })
		var largest []map[string]any
		for _, k := range check.First(keys, 3) {
			largest = append(largest, map[string]any{"key": k, "bytes": len(k) + len(cm.Data[k])})
		}
		pct := float64(n) * 100 / maxConfigMapBytes
		ev := map[string]any{"bytes": n, "limit": maxConfigMapBytes, "percent": math.Round(pct*10) / 10, "largestKeys": largest}
		what := "The next write that grows it"
		if rel, ok := helmRecord(cm.Labels); ok {
			ev["helmRelease"] = rel
			what = fmt.Sprintf("It is a Helm release record of %s: the next upgrade that grows it", rel)
		}
		sev := check.Medium
		if float64(n) >= high {
			sev = check.High
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("ConfigMap %s/%s holds %d KiB of data (%.0f%% of 1 MiB)", cm.Namespace, cm.Name, n/1024, pct),
			Message: fmt.Sprintf("ConfigMap %s/%s holds %d bytes of data, %.1f%% of the 1 MiB the API server accepts in one object. "+
				"%s will be refused (Too long), and each update is sent whole to every watcher (incidents 258, 257).",
				cm.Namespace, cm.Name, n, pct, what),
			Objects:  []check.Object{{Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name}},
			Evidence: ev,
		})
	}
	return nil
}
