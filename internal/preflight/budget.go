package preflight

import (
	"cmp"
	"context"
	"fmt"
	"regexp"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/kube"
)

// DefaultReleaseThreshold is how many other releases of the same chart in
// one namespace make preflight warn (incident 001 had ~2,000).
const DefaultReleaseThreshold = 20

// impactKinds are kinds whose count every node agent or controller pays
// for: incident 001's ~2,000 NetworkPolicies took Calico down; Services
// cost every kube-proxy, ConfigMaps and Jobs the control plane.
var impactKinds = []schema.GroupKind{
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
	{Kind: "Service"},
	{Kind: "ConfigMap"},
	{Group: "batch", Kind: "Job"},
}

var impactResources = map[schema.GroupKind]schema.GroupVersionResource{
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	{Kind: "Service"}:             {Version: "v1", Resource: "services"},
	{Kind: "ConfigMap"}:           {Version: "v1", Resource: "configmaps"},
	{Group: "batch", Kind: "Job"}: {Group: "batch", Version: "v1", Resource: "jobs"},
}

// ChartReleases is the incident 001 budget: how many releases of this chart
// the namespace already holds, and what each adds of the kinds that cost
// the whole cluster.
type ChartReleases struct {
	Chart     string `json:"chart"`
	Namespace string `json:"namespace"`
	// Releases in the namespace other than this one (any chart).
	OtherReleases int `json:"otherReleases"`
	// SameChart is how many of them deploy this chart; -1 when not worked
	// out because OtherReleases is under the threshold.
	SameChart int `json:"sameChart"`
	// Method is how the chart of each release was found: "labels" (the
	// helm.sh/chart label and meta.helm.sh/release-name annotation on
	// the objects) or "release records" (decoded with Helm's SDK).
	Method string `json:"method,omitempty"`
	// PerRelease: what one release of the chart creates of the impact kinds.
	PerRelease []KindCount `json:"perRelease,omitempty"`
	// Existing: how many objects of those kinds the namespace holds now.
	Existing  []KindCount `json:"existing,omitempty"`
	Threshold int         `json:"threshold"`
	Warning   string      `json:"warning,omitempty"`
}

var semverTail = regexp.MustCompile(`^v?\d+(\.\d+){0,2}([-+_.].*)?$`)

// ChartName is the chart name in a helm.sh/chart label ("NAME-VERSION").
func ChartName(label string) string {
	for i := 0; i < len(label); i++ {
		if label[i] == '-' && semverTail.MatchString(label[i+1:]) {
			return label[:i]
		}
	}
	return label
}

// chartOf is the chart named by the rendering's helm.sh/chart labels, else
// by its "# Source:" comments.
func chartOf(objs []Object) string {
	for _, o := range objs {
		if l := o.Labels[ChartLabel]; l != "" {
			return ChartName(l)
		}
	}
	for _, o := range objs {
		if o.SourceChart != "" {
			return o.SourceChart
		}
	}
	return ""
}

func (c *Cluster) chartReleases(ctx context.Context, opts HelmOptions, chart string, incomplete *[]string) *ChartReleases {
	threshold := opts.ReleaseThreshold
	if threshold <= 0 {
		threshold = DefaultReleaseThreshold
	}
	cr := &ChartReleases{Chart: chart, Namespace: opts.Namespace, SameChart: -1, Threshold: threshold}
	// What one release creates: the whole rendering, hooks included (a
	// hook Job stays until its delete policy removes it).
	var impact []Object
	for _, o := range opts.Rendered {
		for _, gk := range impactKinds {
			if o.GroupKind() == gk {
				impact = append(impact, o)
			}
		}
	}
	cr.PerRelease = CountByKind(impact)

	gvr, err := storageResource(opts.Storage)
	if err != nil {
		return cr
	}
	latest := map[string]record{}
	err = c.eachMeta(ctx, gvr, opts.Namespace, "owner=helm", func(p *metav1.PartialObjectMetadata) {
		if rec, ok := recordOf(p.ObjectMeta); ok && rec.version > latest[rec.release].version {
			latest[rec.release] = rec
		}
	}, func() { latest = map[string]record{} })
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("list Helm release records in %s: %v", opts.Namespace, reason(err)))
		return cr
	}
	others := map[string]bool{}
	for name, rec := range latest {
		if name != opts.Release && rec.status != release.StatusUninstalled {
			others[name] = true
		}
	}
	cr.OtherReleases = len(others)
	if len(others) < threshold || len(impact) == 0 || chart == "" {
		return cr
	}

	same := map[string]bool{}
	labelled := false
	for _, kc := range cr.PerRelease {
		gk := schema.GroupKind{Group: kc.Group, Kind: kc.Kind}
		n := 0
		// same and labelled only ever gain the same entries when the list
		// starts again; the count starts over.
		err := c.eachMeta(ctx, impactResources[gk], opts.Namespace, "", func(p *metav1.PartialObjectMetadata) {
			n++
			rel := p.Annotations[ReleaseNameAnnotation]
			l := p.Labels[ChartLabel]
			if rel == "" || l == "" {
				return
			}
			labelled = true
			if others[rel] && ChartName(l) == chart {
				same[rel] = true
			}
		}, func() { n = 0 })
		if err != nil {
			*incomplete = append(*incomplete, fmt.Sprintf("list %s in %s: %v", impactResources[gk].Resource, opts.Namespace, reason(err)))
			continue
		}
		cr.Existing = append(cr.Existing, KindCount{Group: kc.Group, Kind: kc.Kind, Count: n})
	}
	cr.Method = "labels"
	if !labelled {
		// No object carries the chart label: ask the release records.
		cr.Method = "release records"
		same = map[string]bool{}
		if err := c.releasesOfChart(ctx, opts, chart, others, same); err != nil {
			*incomplete = append(*incomplete, fmt.Sprintf("decode Helm release records in %s: %v", opts.Namespace, err))
			return cr
		}
	}
	cr.SameChart = len(same)
	if cr.SameChart >= threshold {
		cr.Warning = fmt.Sprintf("namespace %s already holds %d releases of chart %s; each adds %s (incident 001: one release per run multiplied NetworkPolicies until Calico fell over)",
			opts.Namespace, cr.SameChart, chart, countsString(cr.PerRelease, len(cr.PerRelease)))
	}
	return cr
}

// releasePageSize bounds a page of whole release records: each holds a
// compressed chart and manifest, up to 1 MiB.
const releasePageSize = 100

// releasesOfChart decodes the deployed release records of the namespace,
// page by page, with the same bounded decoder, and collects the releases
// whose chart is chart. same only gains entries, so a list that starts
// again needs nothing dropped.
func (c *Cluster) releasesOfChart(ctx context.Context, opts HelmOptions, chart string, others, same map[string]bool) error {
	lo := c.listOptions("owner=helm,status=deployed")
	lo.PageSize = min(cmp.Or(lo.PageSize, releasePageSize), releasePageSize)
	keep := func(rel *release.Release) {
		if rel.Chart.Metadata.Name == chart {
			same[rel.Name] = true
		}
	}
	maxBytes := opts.MaxReleaseBytes
	var page kube.PageFunc
	switch opts.Storage {
	case StorageConfigMap:
		page = kube.Typed(c.Client.CoreV1().ConfigMaps(opts.Namespace).List, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items },
			eachRelease(others, func(cm *corev1.ConfigMap) (*release.Release, error) { return DecodeConfigMap(cm, maxBytes) }, keep))
	default:
		page = kube.Typed(c.Client.CoreV1().Secrets(opts.Namespace).List, func(l *corev1.SecretList) []corev1.Secret { return l.Items },
			eachRelease(others, func(s *corev1.Secret) (*release.Release, error) { return DecodeSecret(s, maxBytes) }, keep))
	}
	_, err := kube.List(ctx, lo, "Helm release records", page, nil)
	return err
}

// eachRelease returns what to do with a page of release records: decode
// those of the releases in others (records that do not decode are skipped)
// and hand each release to fn.
func eachRelease[T any, PT interface {
	*T
	metav1.Object
}](others map[string]bool, decode func(PT) (*release.Release, error), fn func(*release.Release)) func([]T) {
	return func(items []T) {
		for i := range items {
			o := PT(&items[i])
			if !others[o.GetLabels()["name"]] {
				continue
			}
			if rel, err := decode(o); err == nil {
				fn(rel)
			}
		}
	}
}
