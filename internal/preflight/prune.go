package preflight

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/prune"
)

// PruneOptions describe one `kubectl apply -f FILES --prune` to preflight.
type PruneOptions struct {
	// Objects are the parsed FILES.
	Objects []Object
	// Namespace is -n, or the kubeconfig context's namespace.
	Namespace string
	// EnforceNamespace is true when -n was given: kubectl then also prunes
	// in that namespace, and rejects objects that name another.
	EnforceNamespace bool
	// Selector is -l; All is --all (every object, no selector).
	Selector string
	All      bool
	// Allowlist is --prune-allowlist (group/version/kind, "core" for the
	// core group); empty means kubectl's default allowlist.
	Allowlist []string
	Allow     []Allow
}

// Prune preflights `kubectl apply --prune`: kubectl lists every kind of the
// prune allowlist, in every namespace the applied objects touch (and
// cluster-wide for cluster-scoped kinds), with the selector, and deletes
// each object that `kubectl apply` created (it carries the
// last-applied-configuration annotation) and that FILES do not contain.
// This is kubectl's legacy prune, with its own allowlist code; premortem
// lists metadata only.
func (c *Cluster) Prune(ctx context.Context, opts PruneOptions) (*Report, error) {
	if opts.Selector == "" && !opts.All {
		return nil, errors.New("prune needs a label selector or All, as kubectl does")
	}
	if opts.Selector != "" {
		if _, err := labels.Parse(opts.Selector); err != nil {
			return nil, fmt.Errorf("label selector %q: %w", opts.Selector, err)
		}
	}
	r := &Report{Kind: "apply", Namespace: opts.Namespace}
	r.Warnings = append(r.Warnings, Resolve(opts.Namespace, MapperScoper(c.Mapper), opts.Objects)...)

	visited := map[string]bool{}
	if opts.EnforceNamespace {
		visited[opts.Namespace] = true
	}
	applied := map[Key]bool{}
	for _, o := range opts.Objects {
		applied[o.Key()] = true
		if o.Namespace == "" {
			continue
		}
		if opts.EnforceNamespace && o.Namespace != opts.Namespace {
			return nil, fmt.Errorf("%s: the namespace from the provided object %q does not match the namespace %q (kubectl refuses)", o.Source, o.Namespace, opts.Namespace)
		}
		visited[o.Namespace] = true
	}
	r.Applied = CountByKind(opts.Objects)

	var resources []prune.Resource
	if len(opts.Allowlist) > 0 {
		var err error
		if resources, err = prune.ParseResources(c.Mapper, opts.Allowlist); err != nil {
			return nil, fmt.Errorf("prune allowlist: %w", err)
		}
	}
	namespaced, clusterScoped, err := prune.GetRESTMappings(c.Mapper, resources, opts.EnforceNamespace)
	if err != nil {
		return nil, fmt.Errorf("prune allowlist: %w", err)
	}
	var candidates []Object
	collect := func(ns string, m *meta.RESTMapping) {
		gvk := m.GroupVersionKind
		before := len(candidates)
		err := c.eachMeta(ctx, m.Resource, ns, opts.Selector, func(p *metav1.PartialObjectMetadata) {
			if _, ok := p.Annotations[LastAppliedAnnotation]; !ok {
				return // not created by kubectl apply: prune leaves it
			}
			o := Object{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: p.Namespace, Name: p.Name}
			if applied[o.Key()] {
				return
			}
			candidates = append(candidates, o)
		}, func() { candidates = candidates[:before] })
		if err != nil {
			r.Incomplete = append(r.Incomplete, fmt.Sprintf("list %s in %q: %v", m.Resource.String(), ns, reason(err)))
		}
	}
	var nss []string
	for ns := range visited {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		for _, m := range namespaced {
			collect(ns, m)
		}
	}
	for _, m := range clusterScoped {
		collect(metav1.NamespaceNone, m)
	}
	r.Deletions = c.weigh(ctx, candidates, weighOptions{allow: opts.Allow}, &r.Incomplete)
	r.finish()
	return r, nil
}
