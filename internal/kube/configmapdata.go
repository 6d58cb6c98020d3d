package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A live read (and an agent's watch) lists ConfigMaps metadata-only and reads the data of only the
// ConfigMaps a check looks into, one GET each by name once the workloads
// are read (configMapsWithData): the ones workload templates mount or
// reference (Deployments, DaemonSets, StatefulSets, Jobs; trimmed Pods keep
// no volumes) (hardcoded-apiserver-address, apiserver-cert-names,
// configmap-near-size-limit) and Helm release records
// (configmap-near-size-limit). A ConfigMap can hold 1 MiB; a cluster's
// thousands of others (dashboards, CA bundles, scripts) no check opens are
// never transferred. Where a namespace's wanted ConfigMaps are many and a
// large share of it, that namespace is listed with data instead, one
// paginated chain (planConfigMapData). Files are read whole, as before.

// ReadByName are the kinds a live read GETs one object at a time besides
// listing them: the RBAC a read needs (internal/rbac) comes from here.
var ReadByName = []snapshot.Resource{snapshot.ConfigMaps}

// defaultGetTimeout bounds one GET when the rest.Config sets no timeout.
const defaultGetTimeout = 30 * time.Second

// getQPS is the rate limit of the ConfigMap GETs (see readConfigMapData).
const getQPS = 200

// A namespace is listed with data, rather than its wanted ConfigMaps read
// one GET each, when at least listNamespaceMin of them are wanted and they
// are at least 1/listNamespaceShare of its ConfigMaps: a request costs the
// API server about as much as encoding a few small objects, so a few GETs
// are cheaper than a LIST, and many GETs dearer than a LIST whose unwanted
// objects are at most three for each wanted one. Sizes are not known from
// metadata; pages of dataPageSize bound what one page of 1 MiB ConfigMaps
// holds in memory, and most namespaces fit in one: a continue page is
// answered by etcd, not the watch cache, once etcd has compacted past the
// first page's revision.
const (
	listNamespaceMin   = 8
	listNamespaceShare = 4
	dataPageSize       = 100
)

// configMapTask is one request of the data read: the GET of one ConfigMap,
// or, when name is "", the LIST of namespace ns with data.
type configMapTask struct{ ns, name string }

// planConfigMapData turns the wanted keys (namespace/name, sorted) into
// requests, given how many ConfigMaps each namespace has.
func planConfigMapData(keys []string, perNamespace map[string]int) []configMapTask {
	wanted := map[string]int{}
	for _, k := range keys {
		ns, _, _ := strings.Cut(k, "/")
		wanted[ns]++
	}
	var tasks []configMapTask
	listed := map[string]bool{}
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, "/")
		w := wanted[ns]
		if w < listNamespaceMin || w*listNamespaceShare < perNamespace[ns] {
			tasks = append(tasks, configMapTask{ns: ns, name: name})
			continue
		}
		if !listed[ns] {
			listed[ns] = true
			tasks = append(tasks, configMapTask{ns: ns})
		}
	}
	return tasks
}

// configMapsWithData returns the namespace/name of every listed ConfigMap
// whose data a check reads, sorted, and how many ConfigMaps each namespace
// has.
func configMapsWithData(s *snapshot.Snapshot) ([]string, map[string]int) {
	listed := map[string]bool{}
	want := map[string]bool{}
	perNamespace := map[string]int{}
	for _, m := range s.Metadata[snapshot.ConfigMaps] {
		key := m.Namespace + "/" + m.Name
		listed[key] = true
		perNamespace[m.Namespace]++
		if helmRecordLabels(m.Labels) {
			want[key] = true
		}
	}
	refer := func(ns string, spec *corev1.PodSpec) {
		for _, u := range address.PodSpecConfig(spec) {
			if key := ns + "/" + u.Name; u.Kind == "ConfigMap" && listed[key] {
				want[key] = true
			}
		}
	}
	for i := range s.Deployments {
		refer(s.Deployments[i].Namespace, &s.Deployments[i].Spec.Template.Spec)
	}
	for i := range s.DaemonSets {
		refer(s.DaemonSets[i].Namespace, &s.DaemonSets[i].Spec.Template.Spec)
	}
	for i := range s.StatefulSets {
		refer(s.StatefulSets[i].Namespace, &s.StatefulSets[i].Spec.Template.Spec)
	}
	for i := range s.Jobs {
		refer(s.Jobs[i].Namespace, &s.Jobs[i].Spec.Template.Spec)
	}
	out := make([]string, 0, len(want))
	for k := range want {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, perNamespace
}

// ConfigMapData holds, for an agent, the data of the ConfigMaps a scan
// reads (configMapsWithData) from one evaluation to the next. An agent
// watches ConfigMaps metadata-only, as a scan lists them: holding every
// ConfigMap whole (dashboards, CA bundles, controllers' state, up to 1 MiB
// each) would make its memory the sum of them all. A wanted ConfigMap is
// read by name when it becomes wanted and again when its resourceVersion
// changes; one no longer wanted is let go.
type ConfigMapData struct {
	cfg    *rest.Config
	client *configMapClient            // made at the first read, kept
	held   map[string]corev1.ConfigMap // by namespace/name
}

// NewConfigMapData returns an empty ConfigMapData that reads with cfg.
func NewConfigMapData(cfg *rest.Config) *ConfigMapData {
	return &ConfigMapData{cfg: cfg, held: map[string]corev1.ConfigMap{}}
}

// ConfigMapPlan is what Fill would read for a snapshot: taken while the
// snapshot's stores are locked, read after they are not.
type ConfigMapPlan struct {
	keys, stale  []string
	perNamespace map[string]int
}

// Plan returns the wanted ConfigMaps of s and the ones not held at their
// listed resourceVersion. It keeps nothing of s.
func (c *ConfigMapData) Plan(s *snapshot.Snapshot) ConfigMapPlan {
	keys, perNamespace := configMapsWithData(s)
	listedRV := make(map[string]string, len(keys))
	for _, m := range s.Metadata[snapshot.ConfigMaps] {
		listedRV[m.Namespace+"/"+m.Name] = m.ResourceVersion
	}
	p := ConfigMapPlan{keys: keys, perNamespace: perNamespace}
	for _, k := range keys {
		if cm, ok := c.held[k]; !ok || cm.ResourceVersion != listedRV[k] {
			p.stale = append(p.stale, k)
		}
	}
	return p
}

// Read reads the stale ConfigMaps of p and holds them, and returns the
// GETs and LISTs sent. An agent reads before it locks its stores for an
// evaluation (its watches wait while they are locked), so that Fill, under
// the locks, finds little or nothing left to read.
func (c *ConfigMapData) Read(ctx context.Context, p ConfigMapPlan) (gets, lists int, err error) {
	if len(p.stale) == 0 {
		return 0, 0, nil
	}
	if c.client == nil {
		if c.client, err = newConfigMapClient(c.cfg); err != nil {
			return 0, 0, err
		}
	}
	cms, gets, lists, err := readConfigMapData(ctx, c.client, p.stale, p.perNamespace, 4*DefaultConcurrency)
	if err != nil {
		return gets, lists, err
	}
	for _, k := range p.stale {
		delete(c.held, k) // deleted since it was listed, unless read
	}
	for _, cm := range cms {
		c.held[cm.Namespace+"/"+cm.Name] = cm
	}
	return gets, lists, nil
}

// Fill sets s.ConfigMaps to the wanted ConfigMaps of s, reading the ones it
// does not hold at their listed resourceVersion, and returns the GETs and
// LISTs sent. When they cannot be read, the ones held at an older version
// are served as held, and the error returned; if any was never read, s is
// left as a scan leaves it: ConfigMaps skipped, with the reason, never half
// of them. Only the wanted ones stay held.
func (c *ConfigMapData) Fill(ctx context.Context, s *snapshot.Snapshot) (gets, lists int, err error) {
	if _, read := s.Metadata[snapshot.ConfigMaps]; !read {
		// Not read this time (its watch is failing): what is held stays
		// for when it is read again.
		return 0, 0, nil
	}
	p := c.Plan(s)
	if gets, lists, err = c.Read(ctx, p); err != nil {
		// Changed ConfigMaps held at an older version are served as held
		// (an informer serves its last state through a failing watch); one
		// never read would leave checks half of them.
		for _, k := range p.stale {
			if _, ok := c.held[k]; !ok {
				skipConfigMapData(s, err)
				return gets, lists, err
			}
		}
		c.fill(s, p.keys)
		return gets, lists, fmt.Errorf("%d changed ConfigMaps served as last read: %w", len(p.stale), err)
	}
	for k := range c.held {
		if _, ok := slices.BinarySearch(p.keys, k); !ok {
			delete(c.held, k)
		}
	}
	c.fill(s, p.keys)
	return gets, lists, nil
}

// fill sets s.ConfigMaps to the held ConfigMaps of keys.
func (c *ConfigMapData) fill(s *snapshot.Snapshot, keys []string) {
	s.ConfigMaps = make([]corev1.ConfigMap, 0, len(keys))
	for _, k := range keys {
		if cm, ok := c.held[k]; ok {
			s.ConfigMaps = append(s.ConfigMaps, cm)
		}
	}
}

// skipConfigMapData records that the ConfigMaps' data could not be read:
// ConfigMaps are then not read at all, as checks must not see half of
// them.
func skipConfigMapData(s *snapshot.Snapshot, err error) {
	delete(s.Metadata, snapshot.ConfigMaps)
	s.ConfigMaps = nil
	s.Info.Skipped = append(s.Info.Skipped, snapshot.Skipped{Resource: snapshot.ConfigMaps, Reason: SkipReason(err)})
}

// helmRecordLabels: a Helm release record (Helm 3 with the configmap
// driver, or Helm 2's Tiller).
func helmRecordLabels(l map[string]string) bool {
	return (l["owner"] == "helm" && l["name"] != "") || (l["OWNER"] == "TILLER" && l["NAME"] != "")
}

// ConfigMapDataKinds are the kinds that decide which ConfigMaps' data is
// read (configMapsWithData).
var ConfigMapDataKinds = []snapshot.Resource{snapshot.ConfigMaps, snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs}

// configMapFetch starts the GETs of a live read as soon as the kinds that
// decide them are read (ConfigMaps' metadata and the workloads), while the
// longer chains (Pods) are still being listed: one GET per ConfigMap costs
// a round trip, and hundreds of them after the last LIST would add seconds
// to the wall time.
type configMapFetch struct {
	pending map[snapshot.Resource]bool
}

// configMapFetchFor returns the fetch of a read of kinds, or nil when the
// read lists no ConfigMaps.
func configMapFetchFor(kinds []snapshot.Resource) *configMapFetch {
	if !slices.Contains(kinds, snapshot.ConfigMaps) {
		return nil
	}
	f := &configMapFetch{pending: map[snapshot.Resource]bool{}}
	for _, k := range kinds {
		if slices.Contains(ConfigMapDataKinds, k) {
			f.pending[k] = true
		}
	}
	return f
}

// kindDone records that res is read (or failed) and reports whether the
// GETs can start now: true once, when the last kind they depend on is done.
func (f *configMapFetch) kindDone(res snapshot.Resource) bool {
	if f == nil || !f.pending[res] {
		return false
	}
	delete(f.pending, res)
	return len(f.pending) == 0
}

// configMapClient is the client of the data reads, and their timeout.
type configMapClient struct {
	typed   kubernetes.Interface
	timeout time.Duration
}

// newConfigMapClient returns config's client with the data reads' own rate
// limit: the read's (50 a second) would make hundreds of GETs answered from
// memory the longest part of a scan.
func newConfigMapClient(config *rest.Config) (*configMapClient, error) {
	timeout := config.Timeout
	if timeout <= 0 {
		timeout = defaultGetTimeout
	}
	cfg := rest.CopyConfig(config)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = getQPS, getQPS, nil
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &configMapClient{typed: typed, timeout: timeout}, nil
}

// readConfigMapData reads the data of each ConfigMap of keys
// (namespace/name, sorted), by the requests of planConfigMapData, conc at a
// time, each within the client's timeout, and returns them trimmed in the
// order of keys, with the number of GETs and LIST requests sent. A
// ConfigMap deleted since the metadata LIST is left out; any other failure
// ends the reads and is returned.
func readConfigMapData(ctx context.Context, c *configMapClient, keys []string, perNamespace map[string]int, conc int) (cms []corev1.ConfigMap, gets, lists int, err error) {
	typed, timeout := c.typed, c.timeout
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[k] = i
	}
	tasks := planConfigMapData(keys, perNamespace)
	got := make([]*corev1.ConfigMap, len(keys))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan configMapTask)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && !apierrors.IsNotFound(err) && firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := interner{}
			for t := range next {
				if t.name == "" {
					n, err := listConfigMapData(ctx, typed, t.ns, timeout, in, index, got)
					mu.Lock()
					lists += n
					mu.Unlock()
					fail(err)
					continue
				}
				gctx, gcancel := context.WithTimeout(ctx, timeout)
				cm, err := typed.CoreV1().ConfigMaps(t.ns).Get(gctx, t.name, CachedGet())
				gcancel()
				mu.Lock()
				gets++
				mu.Unlock()
				fail(err)
				if err == nil {
					c := trimConfigMap(cm, in)
					got[index[t.ns+"/"+t.name]] = &c
				}
			}
		}()
	}
feed:
	for _, t := range tasks {
		select {
		case next <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, gets, lists, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, gets, lists, err
	}
	out := make([]corev1.ConfigMap, 0, len(keys))
	for _, cm := range got {
		if cm != nil {
			out = append(out, *cm)
		}
	}
	return out, gets, lists, nil
}

// listConfigMapData lists namespace ns's ConfigMaps with data, one chain of
// small pages, and keeps the ones of index (by namespace/name) in got,
// trimmed. It returns the LIST requests sent.
func listConfigMapData(ctx context.Context, typed kubernetes.Interface, ns string, timeout time.Duration, in interner, index map[string]int, got []*corev1.ConfigMap) (int, error) {
	var kept []int
	st, err := List(ctx, ListOptions{PageSize: dataPageSize, PageTimeout: timeout}, "configmaps in "+ns,
		Typed(typed.CoreV1().ConfigMaps(ns).List, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items },
			func(items []corev1.ConfigMap) {
				for i := range items {
					if j, ok := index[ns+"/"+items[i].Name]; ok {
						c := trimConfigMap(&items[i], in)
						got[j] = &c
						kept = append(kept, j)
					}
				}
			}),
		func() {
			for _, j := range kept {
				got[j] = nil
			}
			kept = kept[:0]
		})
	return st.Requests, err
}
