package kube

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// Defaults of a Reader.
const (
	DefaultPageSize    = 500
	DefaultConcurrency = 4
)

// Reader reads a live cluster cheaply: one paginated LIST per kind, served
// from the API server's watch cache (see FirstPageResourceVersion),
// continue tokens after, a few kinds at a time, each page
// trimmed before the next is requested.
type Reader struct {
	Config *rest.Config
	// Namespace narrows namespaced kinds; "" reads all namespaces.
	// Cluster-scoped kinds are always read whole.
	Namespace   string
	PageSize    int64 // default DefaultPageSize
	Concurrency int   // kinds listed at once; default DefaultConcurrency
	// Progress, when set, is called after every page (from several
	// goroutines, never at once).
	Progress func(Progress)
	// Log receives warnings (a LIST chain started again); nil discards.
	Log *slog.Logger
	// Visit, when set, receives the objects of every requested kind that is
	// Visitable, whole and untrimmed, page by page, instead of the snapshot
	// keeping them: `premortem refs` searches Secret data this way without
	// holding it. Calls are serialised. Other kinds go to the snapshot.
	Visit Visitor
	// Count, with all namespaces, also counts every kind the API server
	// itself serves and the read does not list, custom resources included,
	// into Info.Counts: one limit=1 LIST each (ListOptions.Count). Which
	// group versions are its own (not aggregated) the APIServices say, so
	// counting needs snapshot.APIServices among the kinds read.
	Count bool
}

// Progress is how far a read has got.
type Progress struct {
	KindsDone, KindsTotal int
	Items                 int64
}

// ReadResult is a live read.
type ReadResult struct {
	Snapshot *snapshot.Snapshot
	// Covered lists the requested kinds the snapshot is authoritative for:
	// read in full, or not served by the cluster (so there are none).
	Covered []snapshot.Resource
	// Pages counts LIST requests per kind, Restarts the kinds listed again
	// because their continue token expired.
	Pages    map[snapshot.Resource]int
	Restarts int
	// CountRequests are the limit=1 LISTs of Reader.Count.
	CountRequests int
	// ConfigMapGets are the GETs of the ConfigMaps whose data checks read
	// (the kind itself is listed metadata-only), ConfigMapLists the LIST
	// requests of the namespaces listed with data instead.
	ConfigMapGets, ConfigMapLists int
}

// Read lists the requested kinds. A kind the server does not serve is not
// read (and not an error); a kind that cannot be listed (RBAC, errors) is
// recorded in Info.Skipped and the read goes on; a failing API group is
// recorded in Info.DiscoveryFailures. Read fails, with a *ServerError, when
// discovery fails or when a LIST gets no answer in time: a server that
// does not answer one kind will not answer the others, and a read that
// waits out every kind in turn would hang the command for many minutes.
func (r *Reader) Read(ctx context.Context, want []snapshot.Resource) (*ReadResult, error) {
	c, dc, err := newClients(r.Config)
	if err != nil {
		return nil, err
	}

	d, served, preferred, err := discoverKinds(r.Config, dc, want)
	if err != nil {
		return nil, err
	}
	snap := startSnapshot(ctx, r.Config, d)

	res := &ReadResult{Snapshot: snap, Pages: map[snapshot.Resource]int{}}
	type job struct {
		spec       *kindSpec
		namespaced bool
	}
	var jobs []job
	var visitMu sync.Mutex
	for _, k := range d.Kinds {
		spec := liveSpecFor(k)
		if vs, visitable := visitSpecs[k]; visitable && r.Visit != nil {
			spec = visitKind(k, vs, r.Visit, &visitMu)
		}
		jobs = append(jobs, job{spec: spec, namespaced: d.Namespaced[k]})
	}
	res.Covered = append(res.Covered, d.Covered...)
	var cmFetch *configMapFetch
	if r.Visit == nil {
		var kinds []snapshot.Resource
		for _, j := range jobs {
			kinds = append(kinds, j.spec.res)
		}
		cmFetch = configMapFetchFor(kinds)
	}

	conc := r.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		sem   = make(chan struct{}, conc)
		items atomic.Int64
		done  int
		fatal *ServerError // the first LIST that got no answer
	)
	report := func() {
		if r.Progress != nil {
			r.Progress(Progress{KindsDone: done, KindsTotal: len(jobs), Items: items.Load()})
		}
	}
	// startConfigMapData GETs the ConfigMaps checks read data of
	// (configmapdata.go); called with mu held, once.
	startConfigMapData := func(keys []string, perNamespace map[string]int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cms []corev1.ConfigMap
			var gets, lists int
			c, err := newConfigMapClient(r.Config)
			if err == nil {
				cms, gets, lists, err = readConfigMapData(ctx, c, keys, perNamespace, 4*conc)
			}
			mu.Lock()
			defer mu.Unlock()
			res.ConfigMapGets, res.ConfigMapLists = gets, lists
			switch {
			case fatal != nil || parent.Err() != nil:
			case err == nil:
				snap.ConfigMaps = cms
			default:
				if se := (&ServerError{Host: r.Config.Host, Stage: "GET configmaps", Limit: r.Config.Timeout, Err: err}); se.Timeout() {
					fatal = se
					cancel()
					return
				}
				skipConfigMapData(snap, err)
				res.Covered = slices.DeleteFunc(res.Covered, func(k snapshot.Resource) bool { return k == snapshot.ConfigMaps })
			}
		}()
	}
	// Pods first: their chain of pages is the longest by far and sets the
	// wall time; the other kinds fill the remaining slots around it. Slots
	// are taken in this order, not in goroutine start order.
	slices.SortStableFunc(jobs, func(a, b job) int { return btoi(b.spec.res == snapshot.Pods) - btoi(a.spec.res == snapshot.Pods) })
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ns := ""
			if j.namespaced {
				ns = r.Namespace
			}
			// Pages go into the snapshot as they arrive, the first one
			// sizing the kind's slice from remainingItemCount: no page
			// list held until the end, no slice doubling for 150,000 pods.
			added := 0
			emit := func(p page, first bool) {
				mu.Lock()
				defer mu.Unlock()
				if first && p.remaining > 0 && j.spec.grow != nil {
					j.spec.grow(snap, p.n+int(p.remaining))
				}
				j.spec.add(snap, p)
				added += p.n
				items.Add(int64(p.n))
				report()
			}
			drop := func() {
				mu.Lock()
				defer mu.Unlock()
				if j.spec.reset != nil {
					j.spec.reset(snap)
				}
				items.Add(-int64(added))
				added = 0
			}
			n, restarted, err := r.listKind(ctx, c, j.spec, ns, emit, drop)
			if err != nil {
				// A kind read in part is not read: checks must not see half.
				drop()
			}
			mu.Lock()
			defer mu.Unlock()
			defer func() {
				if cmFetch.kindDone(j.spec.res) && fatal == nil && ctx.Err() == nil && slices.Contains(res.Covered, snapshot.ConfigMaps) {
					startConfigMapData(configMapsWithData(snap))
				}
			}()
			if fatal != nil {
				return // the read was ended by an earlier kind's timeout
			}
			if err != nil && parent.Err() == nil {
				if se := (&ServerError{Host: r.Config.Host, Stage: "LIST " + j.spec.res.Name(), Limit: r.Config.Timeout, Err: err}); se.Timeout() {
					fatal = se
					cancel()
					return
				}
			}
			res.Pages[j.spec.res] += n
			if restarted {
				res.Restarts++
			}
			done++
			report()
			if err != nil {
				snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: j.spec.res, Reason: SkipReason(err)})
				return
			}
			res.Covered = append(res.Covered, j.spec.res)
		}()
	}
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	if r.Count && r.Namespace == "" {
		res.CountRequests = r.countKinds(ctx, c, snap, countable(snap, served, preferred, want), conc)
		if err := parent.Err(); err != nil {
			return nil, err
		}
	}
	sort.Slice(res.Covered, func(i, j int) bool { return resourceLess(res.Covered[i], res.Covered[j]) })
	FinishSnapshot(snap, time.Now())
	return res, nil
}

// discover returns the resources the server serves, the preferred version
// of each group and the group versions whose discovery failed. Aggregated
// discovery makes this one or two requests; a failing aggregated
// APIService fails only its own group.
func discover(dc discovery.DiscoveryInterface) (map[schema.GroupVersionResource]metav1.APIResource, map[string]string, map[schema.GroupVersion]error, error) {
	groups, lists, err := discovery.ServerGroupsAndResources(dc)
	failed := map[schema.GroupVersion]error{}
	if err != nil {
		var gerr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gerr) {
			return nil, nil, nil, err
		}
		for gv, e := range gerr.Groups {
			failed[gv] = e
		}
	}
	served := map[schema.GroupVersionResource]metav1.APIResource{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, ar := range l.APIResources {
			if strings.Contains(ar.Name, "/") { // subresources
				continue
			}
			served[gv.WithResource(ar.Name)] = ar
		}
	}
	preferred := map[string]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.Version
	}
	return served, preferred, failed, nil
}

// listKind runs one LIST chain for a kind (see List), handing each trimmed
// page to emit (first is true for a chain's first page), and returns how
// many requests it took. If the chain starts again (its continue token
// expired) drop is called first.
func (r *Reader) listKind(ctx context.Context, c *clients, spec *kindSpec, ns string, emit func(p page, first bool), drop func()) (int, bool, error) {
	in := interner{}
	st, err := List(ctx, ListOptions{PageSize: r.PageSize, Log: r.Log}, spec.res.Name(),
		func(ctx context.Context, opts metav1.ListOptions) (Page, error) {
			p, cont, err := spec.list(ctx, c, ns, opts, in)
			if err != nil {
				return Page{}, err
			}
			emit(p, opts.Continue == "")
			return Page{Continue: cont, Items: p.n, Remaining: p.remaining, Bytes: p.bytes}, nil
		}, drop)
	return st.Requests, st.Restarted, err
}

// FirstPageResourceVersion is the resourceVersion of every kind's first
// page, with resourceVersionMatch=NotOlderThan: "any state at least as new as
// revision 1", which the API server's watch cache always satisfies, so it
// answers without touching etcd. Not "0": the API server treats
// resourceVersion=0 as a legacy special case and ignores the limit, sending
// the whole kind in one response (150,000 pods: gigabytes to decode at
// once). With "1" the cache honours the limit (Kubernetes 1.34+, where
// continue pages are served from cache snapshots too); older servers answer
// it from the cache unpaginated, exactly as they would "0".
const FirstPageResourceVersion = "1"

// CachedGet are the options of a GET by name that may be served from the
// watch cache, as the first page of a LIST is: for a GET, a set
// resourceVersion means "not older than", and revision 1 is always
// satisfied by the cache; unset would be a quorum read of etcd. Not "0"
// either, for the same reason as FirstPageResourceVersion: one spelling of
// "from the cache" for every read. A GET that must see the current state
// (restart, preflight before acting) passes empty options instead.
func CachedGet() metav1.GetOptions {
	return metav1.GetOptions{ResourceVersion: FirstPageResourceVersion}
}

// SkipReason is the Info.Skipped reason of a kind whose read failed with
// err: the vocabulary every verb reports an unread kind in.
func SkipReason(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return "forbidden: " + err.Error()
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		return "error: continue token expired twice: " + err.Error()
	}
	return "error: " + err.Error()
}

func dedupe(rs []snapshot.Resource) []snapshot.Resource {
	seen := map[snapshot.Resource]bool{}
	var out []snapshot.Resource
	for _, r := range rs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func resourceLess(a, b snapshot.Resource) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Resource != b.Resource {
		return a.Resource < b.Resource
	}
	return a.Version < b.Version
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
