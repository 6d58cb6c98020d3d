package preflight

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// HelmOptions describe one `helm upgrade` to preflight.
type HelmOptions struct {
	Release, Namespace string
	// Storage is Helm's storage driver: StorageSecret (Helm's default) or
	// StorageConfigMap.
	Storage string
	// MaxReleaseBytes bounds a release record's decoded size
	// (DefaultMaxReleaseBytes when 0).
	MaxReleaseBytes int64
	// Rendered is the new manifest (`helm template` output), parsed.
	Rendered []Object
	// Install treats an unknown release as a first install (helm upgrade
	// --install) instead of an error.
	Install bool
	Allow   []Allow
	// ReleaseThreshold: warn when the namespace holds at least this many
	// other releases of the same chart (DefaultReleaseThreshold when 0).
	ReleaseThreshold int
}

// ReleaseInfo describes the deployed release preflight compared against.
type ReleaseInfo struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Revision     int    `json:"revision"`
	Status       string `json:"status"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chartVersion"`
	// Record is the Secret or ConfigMap holding it.
	Record string `json:"record"`
}

// Helm preflights a Helm upgrade: what the new rendering would delete from
// the deployed release, weighed, and what it would create.
func (c *Cluster) Helm(ctx context.Context, opts HelmOptions) (*Report, error) {
	if opts.Storage == "" {
		opts.Storage = StorageSecret
	}
	r := &Report{Kind: "helm", Namespace: opts.Namespace}
	rel, recName, err := c.CurrentRelease(ctx, opts.Namespace, opts.Release, opts.Storage, opts.MaxReleaseBytes)
	var old []Object
	switch {
	case err == nil:
		r.Release = &ReleaseInfo{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version,
			Status: rel.Info.Status.String(), Chart: rel.Chart.Metadata.Name, ChartVersion: rel.Chart.Metadata.Version, Record: recName}
		source := fmt.Sprintf("release %s revision %d", rel.Name, rel.Version)
		if old, err = ParseManifest(source, []byte(rel.Manifest)); err != nil {
			return nil, fmt.Errorf("deployed release manifest: %w", err)
		}
	case opts.Install && isNotFound(err):
		r.Warnings = append(r.Warnings, fmt.Sprintf("release %s is not installed in %s: preflighting a first install", opts.Release, opts.Namespace))
	default:
		return nil, err
	}
	r.Warnings = append(r.Warnings, Resolve(opts.Namespace, MapperScoper(c.Mapper), old, opts.Rendered)...)

	deleted, created := Diff(old, opts.Rendered)
	outside := map[Key]string{}
	for _, o := range opts.Rendered {
		switch {
		case o.FromCRDsDir():
			outside[o.Key()] = "is now in the chart's crds/ directory, which is not part of the release manifest"
		case o.Hook():
			outside[o.Key()] = "is now a hook, and hooks are not part of the release manifest"
		}
	}
	for _, o := range deleted {
		if why, ok := outside[o.Key()]; ok {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s: helm upgrade deletes the deployed one", o, why))
		}
	}
	r.Deletions = c.weigh(ctx, deleted, weighOptions{honourKeep: true, allow: opts.Allow}, &r.Incomplete)
	for _, d := range r.Deletions {
		if d.Status == StatusUnknown {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: its kind is not served, so helm upgrade fails to build the current release (\"resource mapping not found\")", d.Object))
		}
	}
	r.Creations = CountByKind(created)
	chart := chartOf(opts.Rendered)
	if chart == "" && rel != nil {
		chart = rel.Chart.Metadata.Name
	}
	r.ChartReleases = c.chartReleases(ctx, opts, chart, &r.Incomplete)
	r.finish()
	return r, nil
}

func isNotFound(err error) bool {
	_, ok := err.(*ReleaseNotFoundError)
	return ok
}

// CurrentRelease reads the release `helm upgrade` would diff against: a
// metadata-only LIST of the release's records (their labels carry revision
// and status), then one GET of the chosen record, decoded by Helm's own
// storage driver after a bounded size check.
func (c *Cluster) CurrentRelease(ctx context.Context, ns, name, storage string, max int64) (*release.Release, string, error) {
	gvr, err := storageResource(storage)
	if err != nil {
		return nil, "", err
	}
	var recs []record
	// Consistent: run just after `helm install`, the watch cache can still
	// hold the record as pending-install, and Helm itself reads it fresh.
	lo := c.listOptions("owner=helm,name=" + name)
	lo.Consistent = true
	err = c.eachMetaWith(ctx, gvr, ns, lo, func(p *metav1.PartialObjectMetadata) {
		if rec, ok := recordOf(p.ObjectMeta); ok {
			recs = append(recs, rec)
		}
	}, func() { recs = nil })
	if err != nil {
		return nil, "", fmt.Errorf("list Helm release records (%s) in %s: %w", gvr.Resource, ns, err)
	}
	if len(recs) == 0 {
		return nil, "", &ReleaseNotFoundError{Name: name, Namespace: ns, Storage: storage}
	}
	cur, err := pickCurrent(recs)
	if err != nil {
		return nil, "", err
	}
	var rel *release.Release
	switch storage {
	case StorageSecret:
		s, err := c.Client.CoreV1().Secrets(ns).Get(ctx, cur.name, metav1.GetOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("get release record Secret %s/%s: %w", ns, cur.name, err)
		}
		rel, err = DecodeSecret(s, max)
		if err != nil {
			return nil, "", err
		}
	case StorageConfigMap:
		cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, cur.name, metav1.GetOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("get release record ConfigMap %s/%s: %w", ns, cur.name, err)
		}
		rel, err = DecodeConfigMap(cm, max)
		if err != nil {
			return nil, "", err
		}
	}
	if rel.Name != name {
		return nil, "", &NotAReleaseError{Kind: gvr.Resource, Namespace: ns, Name: cur.name,
			Err: fmt.Errorf("labelled name=%s but holds release %q", name, rel.Name)}
	}
	return rel, cur.name, nil
}

func storageResource(storage string) (schema.GroupVersionResource, error) {
	switch storage {
	case StorageSecret:
		return schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, nil
	case StorageConfigMap:
		return schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, nil
	}
	return schema.GroupVersionResource{}, fmt.Errorf("helm storage driver %q: premortem reads %q and %q", storage, StorageSecret, StorageConfigMap)
}
