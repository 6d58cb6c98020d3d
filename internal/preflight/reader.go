package preflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/premortem/premortem/internal/kube"
)

// Cluster is premortem's read-only view of a cluster for preflight: GETs of
// named objects and metadata-only LISTs through kube.List (paginated, the
// first page served from the API server's watch cache).
type Cluster struct {
	Client    kubernetes.Interface
	Metadata  metadata.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	Mapper    meta.RESTMapper
	// PageSize is the LIST page size; default kube.DefaultPageSize.
	PageSize int64
	// Log receives warnings (a LIST started again); nil discards.
	Log *slog.Logger

	nsOnce      sync.Once
	nsResources []resourceKind
	nsFailed    map[schema.GroupVersion]error
	nsErr       error
}

// NewCluster builds the clients from one REST configuration.
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	// Counting a namespace lists every kind, deprecated ones included
	// (v1 Endpoints); their deprecation warnings are noise here.
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// Custom resources have no protobuf encoding: the dynamic client and
	// discovery use JSON.
	jsonCfg := rest.CopyConfig(cfg)
	jsonCfg.ContentType, jsonCfg.AcceptContentTypes = "application/json", "application/json"
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	dc, err := dynamic.NewForConfig(jsonCfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(jsonCfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(disco)
	return &Cluster{Client: cs, Metadata: mc, Dynamic: dc, Discovery: cached,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached)}, nil
}

// eachMeta lists gvr in ns (all namespaces when ""), metadata only, with
// kube.List, calling fn for each object; nothing is kept between pages. A
// list whose continue token expires is read again from the start, once:
// restart is called first, so the caller drops what fn collected.
func (c *Cluster) eachMeta(ctx context.Context, gvr schema.GroupVersionResource, ns, selector string, fn func(*metav1.PartialObjectMetadata), restart func()) error {
	return c.eachMetaWith(ctx, gvr, ns, c.listOptions(selector), fn, restart)
}

// eachMetaWith is eachMeta with the chain's options given whole.
func (c *Cluster) eachMetaWith(ctx context.Context, gvr schema.GroupVersionResource, ns string, lo kube.ListOptions, fn func(*metav1.PartialObjectMetadata), restart func()) error {
	_, err := kube.List(ctx, lo, gvr.String(),
		kube.Typed(c.Metadata.Resource(gvr).Namespace(ns).List, kube.MetadataItems, func(items []metav1.PartialObjectMetadata) {
			for i := range items {
				fn(&items[i])
			}
		}), restart)
	return err
}

func (c *Cluster) listOptions(selector string) kube.ListOptions {
	return kube.ListOptions{PageSize: c.PageSize, LabelSelector: selector, Log: c.Log}
}

// count lists gvr metadata-only and returns how many objects it holds.
func (c *Cluster) count(ctx context.Context, gvr schema.GroupVersionResource, ns string, skip func(*metav1.PartialObjectMetadata) bool) (int, error) {
	n := 0
	err := c.eachMeta(ctx, gvr, ns, "", func(p *metav1.PartialObjectMetadata) {
		if skip == nil || !skip(p) {
			n++
		}
	}, func() { n = 0 })
	return n, err
}

// namespacedResources returns every namespaced resource the API server
// lists and deletes (one preferred version per group), and the groups whose
// discovery failed: the incident 004 condition, where the namespace
// controller cannot see, and so holds back, part of a namespace.
func (c *Cluster) namespacedResources() ([]resourceKind, map[schema.GroupVersion]error, error) {
	c.nsOnce.Do(func() {
		lists, err := c.Discovery.ServerPreferredNamespacedResources()
		var failed *discovery.ErrGroupDiscoveryFailed
		if err != nil && !errors.As(err, &failed) {
			c.nsErr = fmt.Errorf("discovery: %w", err)
			return
		}
		if failed != nil {
			c.nsFailed = failed.Groups
		}
		for _, l := range lists {
			gv, err := schema.ParseGroupVersion(l.GroupVersion)
			if err != nil {
				continue
			}
			for _, r := range l.APIResources {
				if !hasVerbs(r.Verbs, "list", "delete") {
					continue
				}
				// Events (core, and events.k8s.io, which serves the same
				// objects) are records about other objects that expire
				// within an hour, not data anyone loses with the namespace;
				// counting them would also make the weight depend on
				// whatever happened to be reported lately.
				if r.Name == "events" && (gv.Group == "" || gv.Group == "events.k8s.io") {
					continue
				}
				c.nsResources = append(c.nsResources, resourceKind{gv.WithResource(r.Name), r.Kind})
			}
		}
	})
	return c.nsResources, c.nsFailed, c.nsErr
}

func hasVerbs(have metav1.Verbs, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// mapping resolves a group/kind to its resource and scope.
func (c *Cluster) mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	if version != "" {
		if m, err := c.Mapper.RESTMapping(gk, version); err == nil {
			return m, nil
		}
	}
	return c.Mapper.RESTMapping(gk)
}

// resourceKind is a resource with the kind it serves.
type resourceKind struct {
	gvr  schema.GroupVersionResource
	kind string
}
