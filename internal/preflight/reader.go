package preflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
)

// PageSize is the LIST page size: large enough that most namespaces take
// one page, small enough that no response is huge.
const PageSize = 500

// Cluster is premortem's read-only view of a cluster for preflight: GETs of
// named objects and metadata-only paginated LISTs, the first page served
// from the API server's watch cache.
type Cluster struct {
	Client    kubernetes.Interface
	Metadata  metadata.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	Mapper    meta.RESTMapper

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

// eachMeta lists gvr in ns (all namespaces when ""), metadata only, page by
// page, calling fn for each item; nothing is kept between pages. The first
// page comes from the watch cache (resourceVersion=0); continue tokens
// after. fn has seen items by the time a continue token can expire, so an
// expired token is the caller's to handle (count starts over).
func (c *Cluster) eachMeta(ctx context.Context, gvr schema.GroupVersionResource, ns string, opts metav1.ListOptions, fn func(*metav1.PartialObjectMetadata)) error {
	o := opts
	o.Limit, o.ResourceVersion, o.ResourceVersionMatch = PageSize, "0", metav1.ResourceVersionMatchNotOlderThan
	for {
		list, err := c.Metadata.Resource(gvr).Namespace(ns).List(ctx, o)
		if err != nil {
			return err
		}
		for i := range list.Items {
			fn(&list.Items[i])
		}
		if list.Continue == "" {
			return nil
		}
		// Continue pages carry only the token: the server forbids a
		// resourceVersion with continue.
		o = opts
		o.Limit, o.Continue = PageSize, list.Continue
	}
}

// count lists gvr metadata-only and returns how many objects it holds. A
// list whose continue token expires is counted again from the start.
func (c *Cluster) count(ctx context.Context, gvr schema.GroupVersionResource, ns string, skip func(*metav1.PartialObjectMetadata) bool) (int, error) {
	for attempt := 0; ; attempt++ {
		n := 0
		err := c.eachMeta(ctx, gvr, ns, metav1.ListOptions{}, func(p *metav1.PartialObjectMetadata) {
			if skip == nil || !skip(p) {
				n++
			}
		})
		if err != nil && attempt == 0 && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) {
			slog.Warn("continue token expired; counting again", "resource", gvr.String(), "namespace", ns)
			continue
		}
		return n, err
	}
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
