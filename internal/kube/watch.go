package kube

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/snapshot"
)

// Feeds are the kinds a long-running reader (premortem agent) keeps up to
// date with a watch each: the LIST chain, trimming and snapshot fields are
// those of Reader.Read, so a snapshot built from the feeds is the one a
// scan would read.
type Feeds struct {
	cfg *rest.Config
	c   *clients
	dc  discovery.DiscoveryInterface
}

// NewFeeds returns the feeds of the cluster cfg points at. cfg.Timeout
// bounds LIST pages and discovery; watches are bounded by their own
// timeout (Feed.Watch), not by it.
func NewFeeds(cfg *rest.Config) (*Feeds, error) {
	c, dc, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	// Watches stay open for minutes: a client-wide timeout would cut them.
	wcfg := rest.CopyConfig(cfg)
	wcfg.Timeout = 0
	if c.streams, _, err = newClients(wcfg); err != nil {
		return nil, err
	}
	if c.streams.dynamic, err = dynamic.NewForConfig(wcfg); err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return &Feeds{cfg: cfg, dc: dc, c: c}, nil
}

// newClients returns the clients of a read of the cluster cfg points at,
// and its discovery client.
func newClients(cfg *rest.Config) (*clients, discovery.DiscoveryInterface, error) {
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata client: %w", err)
	}
	// Discovery is served in JSON (aggregated discovery); no disk cache.
	dcfg := rest.CopyConfig(cfg)
	dcfg.ContentType, dcfg.AcceptContentTypes = "", ""
	dc, err := discovery.NewDiscoveryClientForConfig(dcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery client: %w", err)
	}
	return &clients{typed: typed, metadata: md, rest: typed.CoreV1().RESTClient()}, dc, nil
}

// Discovery is what the API server serves, for the kinds a reader wants.
type Discovery struct {
	ServerVersion string
	// Kinds are the wanted kinds served with list (and, for feeds, watch),
	// Namespaced says which of them are.
	Kinds      []snapshot.Resource
	Namespaced map[snapshot.Resource]bool
	// Covered are wanted kinds the server does not serve: there are none.
	Covered []snapshot.Resource
	// Skipped are wanted kinds whose API group's discovery failed, and
	// Failures those groups, as Reader.Read records them.
	Skipped  []snapshot.Skipped
	Failures []snapshot.DiscoveryFailure
}

// Discover asks the server what it serves of want, as Reader.Read does.
func (f *Feeds) Discover(want []snapshot.Resource) (*Discovery, error) {
	d, _, _, err := discoverKinds(f.cfg, f.dc, want, "watch")
	return d, err
}

// discoverKinds asks dc for the server's version and what it serves of
// want: the kinds served with list and verbs are read. It also returns
// what Reader.Count needs: every resource served and each group's
// preferred version.
func discoverKinds(cfg *rest.Config, dc discovery.DiscoveryInterface, want []snapshot.Resource, verbs ...string) (*Discovery, map[schema.GroupVersionResource]metav1.APIResource, map[string]string, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, nil, nil, &ServerError{Host: cfg.Host, Stage: "discovery (server version)", Limit: cfg.Timeout, Err: err}
	}
	served, preferred, failed, err := discover(dc)
	if err != nil {
		return nil, nil, nil, &ServerError{Host: cfg.Host, Stage: "discovery (API groups)", Limit: cfg.Timeout, Err: err}
	}
	d := &Discovery{ServerVersion: v.GitVersion, Namespaced: map[snapshot.Resource]bool{}, Failures: discoveryFailures(failed)}
	p := planRead(want, served, failed, verbs...)
	for _, k := range p.read {
		d.Kinds = append(d.Kinds, k.res)
		d.Namespaced[k.res] = k.namespaced
	}
	d.Covered, d.Skipped = p.covered, p.skipped
	return d, served, preferred, nil
}

func discoveryFailures(failed map[schema.GroupVersion]error) []snapshot.DiscoveryFailure {
	var out []snapshot.DiscoveryFailure
	for gv, e := range failed {
		out = append(out, snapshot.DiscoveryFailure{GroupVersion: gv.String(), Error: e.Error()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupVersion < out[j].GroupVersion })
	return out
}

// readPlan sorts the wanted kinds by what discovery said of them.
type readPlan struct {
	read    []plannedKind
	covered []snapshot.Resource
	skipped []snapshot.Skipped
}

// plannedKind is a kind a read lists.
type plannedKind struct {
	res        snapshot.Resource
	namespaced bool
}

// planRead: a kind served with the verbs is read; one whose group's
// discovery failed is skipped; one not served has none to read.
func planRead(want []snapshot.Resource, served map[schema.GroupVersionResource]metav1.APIResource, failed map[schema.GroupVersion]error, verbs ...string) readPlan {
	var p readPlan
	for _, w := range dedupe(want) {
		gv := schema.GroupVersion{Group: w.Group, Version: w.Version}
		ar, ok := served[schema.GroupVersionResource{Group: w.Group, Version: w.Version, Resource: w.Resource}]
		switch {
		case ok && slices.Contains(ar.Verbs, "list") && !slices.ContainsFunc(verbs, func(v string) bool { return !slices.Contains(ar.Verbs, v) }):
			p.read = append(p.read, plannedKind{w, ar.Namespaced})
		case failed[gv] != nil:
			p.skipped = append(p.skipped, snapshot.Skipped{Resource: w, Reason: "discovery failed for " + gv.String() + ": " + failed[gv].Error()})
		default:
			// Not served (a CRD that is not installed, an API version the
			// cluster lacks): there are none to read.
			p.covered = append(p.covered, w)
		}
	}
	return p
}

// Feed is one kind kept up to date by a watch.
type Feed struct {
	Resource snapshot.Resource
	spec     *kindSpec
	c        *clients
	ns       string

	mu        sync.Mutex
	in        interner
	internMax int
}

// internFloor is the least number of values a feed's interner holds before
// it starts again: objects come and go for as long as the agent runs, and
// an interner that only grows would keep every name it ever saw.
const internFloor = 1 << 16

// Feed returns the feed of res. Namespaced kinds are watched in ns ("" for
// all namespaces).
func (f *Feeds) Feed(res snapshot.Resource, namespaced bool, ns string) *Feed {
	if !namespaced {
		ns = ""
	}
	return &Feed{Resource: res, spec: liveSpecFor(res), c: f.c, ns: ns, in: interner{}, internMax: internFloor}
}

// Metadata reports whether the kind is read metadata-only.
func (f *Feed) Metadata() bool { return f.spec.metadata }

// Example is an object of the type Watch delivers.
func (f *Feed) Example() runtime.Object { return f.spec.example }

// List runs one LIST chain of the kind (List: paginated, the first page from
// the watch cache) and returns its objects, trimmed page by page, as a list
// a client-go reflector accepts, with the chain's resourceVersion to watch
// from. page is called after every page with its error.
func (f *Feed) List(ctx context.Context, o ListOptions, page func(error)) (runtime.Object, ListStats, error) {
	out := &objectList{}
	st, err := List(ctx, o, f.Resource.Name(), func(ctx context.Context, opts metav1.ListOptions) (Page, error) {
		f.mu.Lock()
		p, cont, err := f.spec.list(ctx, f.c, f.ns, opts, f.in)
		f.mu.Unlock()
		if page != nil {
			page(err)
		}
		if err != nil {
			return Page{}, err
		}
		out.Items = append(out.Items, objectsOf(p.items)...)
		out.ResourceVersion = p.rv
		return Page{Continue: cont, Items: p.n, Remaining: p.remaining, Bytes: p.bytes}, nil
	}, func() { out.Items = nil })
	if err != nil {
		return nil, st, err
	}
	return out, st, nil
}

// Watch opens a watch of the kind with opts (a reflector's: resourceVersion,
// bookmarks, sendInitialEvents, timeoutSeconds).
func (f *Feed) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return f.spec.watch(ctx, f.c.streams, f.ns, opts)
}

// Trim trims one object as the LIST chain does: an informer's transform.
func (f *Feed) Trim(o any) (any, error) {
	if l, ok := o.(*listed); ok {
		o = l.obj
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.in) > f.internMax {
		f.in = interner{}
	}
	t := f.spec.one(o, f.in)
	if t == nil {
		return nil, fmt.Errorf("%s: unexpected object %T", f.Resource.Name(), o)
	}
	return t, nil
}

// Synced tells the feed its kind is read whole: the interner may grow to
// twice what it holds now before it starts again.
func (f *Feed) Synced() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.internMax = max(internFloor, 2*len(f.in))
}

// objectList is a LIST chain's objects as one list for a reflector.
type objectList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []runtime.Object
}

func (l *objectList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = slices.Clone(l.Items)
	return &c
}

// listed carries a trimmed object that is no runtime.Object (an
// APIService) through a reflector to Trim.
type listed struct {
	obj  any
	meta metav1.Object
}

func (l *listed) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (l *listed) DeepCopyObject() runtime.Object   { return l } // never modified
func (l *listed) GetObjectMeta() metav1.Object     { return l.meta }

// objectsOf returns pointers to the elements of a page's items slice, as
// runtime.Objects: the kinds read as JSON (APIServices, custom resources)
// have no runtime.Object type and travel in a listed.
func objectsOf(items any) []runtime.Object {
	v := reflect.ValueOf(items)
	out := make([]runtime.Object, v.Len())
	for i := range out {
		p := v.Index(i).Addr().Interface()
		if o, ok := p.(runtime.Object); ok {
			out[i] = o
			continue
		}
		out[i] = &listed{obj: p, meta: p.(metav1.Object)}
	}
	return out
}

// watchAsJSON gives a kind read as raw JSON (no Go types here: APIServices,
// custom resources) its watch, through the dynamic client, and trims what
// it delivers with the kind's own decode, as a snapshot file's object.
func watchAsJSON(k *kindSpec) {
	gvr := schema.GroupVersionResource{Group: k.res.Group, Version: k.res.Version, Resource: k.res.Resource}
	k.watch = func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error) {
		return c.dynamic.Resource(gvr).Namespace(ns).Watch(ctx, opts)
	}
	k.example = &unstructured.Unstructured{}
	k.one = func(o any, in interner) any {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			// Trimmed already (a LIST chain's object): the kind's own type.
			if _, isObject := o.(metav1.Object); isObject {
				return o
			}
			return nil
		}
		raw, err := u.MarshalJSON()
		if err != nil {
			return nil
		}
		p, err := k.decode(raw, in)
		if err != nil || p.n != 1 {
			return nil
		}
		return reflect.ValueOf(p.items).Index(0).Addr().Interface()
	}
}

// StartSnapshot begins the snapshot of a read by feeds with what
// Reader.Read records before any kind: source, server version, discovery
// failures and skipped groups, and the API server's serving certificate
// (one TLS handshake).
func (f *Feeds) StartSnapshot(ctx context.Context, d *Discovery) *snapshot.Snapshot {
	return startSnapshot(ctx, f.cfg, d)
}

func startSnapshot(ctx context.Context, cfg *rest.Config, d *Discovery) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Info: snapshot.Info{Source: "live:" + cfg.Host, ServerVersion: d.ServerVersion,
		DiscoveryFailures: slices.Clone(d.Failures), Skipped: slices.Clone(d.Skipped)}}
	// One TLS handshake with the same server, to record the names its
	// certificate covers (apiserver-cert-names); never any other address.
	s.Info.APIServer = ServingCertificate(ctx, cfg)
	return s
}

// FinishSnapshot orders what s skipped as Reader.Read does and stamps the
// read time.
func FinishSnapshot(s *snapshot.Snapshot, now time.Time) {
	sort.Slice(s.Info.Skipped, func(i, j int) bool { return resourceLess(s.Info.Skipped[i].Resource, s.Info.Skipped[j].Resource) })
	s.Info.TakenAt = now.UTC().Truncate(time.Second)
}
