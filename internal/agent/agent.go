// Package agent is `premortem agent`: the checks of `premortem scan`,
// evaluated continuously in the cluster over informer caches, served as
// Prometheus metrics, health endpoints and the scan's JSON.
//
// Reading is the scan's: one informer per kind the selected checks read
// (kube.NeedOf), its initial state streamed (WatchList) or, on servers
// without it, read with premortem's paginated LIST chain (kube.List, first
// page from the watch cache); objects trimmed by the scan's own code
// (kube.Feed); metadata-only where the scan reads metadata only, and the
// data of the ConfigMaps a scan opens read by name (kube.ConfigMapData). After
// that, watches only: no resync, and a relist only when a watch fails or
// expires (client-go's reflector, with backoff and jitter).
package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/accept"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/kube"
	apfsample "github.com/premortem/premortem/internal/measure"
	"github.com/premortem/premortem/internal/report"
	"github.com/premortem/premortem/internal/snapshot"
)

// Defaults of Options.
const (
	DefaultInterval      = time.Minute
	DefaultDebounce      = 5 * time.Second
	DefaultTopNamespaces = 5
	DefaultMaxSeries     = 100
)

// Options configure an agent.
type Options struct {
	Config *rest.Config
	// Namespace narrows namespaced kinds; "" watches all namespaces.
	Namespace string
	Checks    []*check.Check
	Params    map[string]string
	// Interval between evaluations; a change to a watched kind brings the
	// next one forward to Debounce after it.
	Interval, Debounce time.Duration
	PageSize           int64
	// TopNamespaces is how many namespaces the per-namespace gauges keep
	// per resource; MaxSeries bounds the series of each per-object gauge.
	TopNamespaces, MaxSeries int
	// Version and Revision are premortem_build_info's labels.
	Version, Revision string
	// APIServerSample, when set, samples the API servers' priority levels
	// while the agent runs (--apiserver-sample); /metrics serves what it saw.
	APIServerSample *apfsample.Monitor
	Log             *slog.Logger
	// Settled, when set, is called once, after the first evaluation that
	// read every kind: the initial reads and their garbage are behind.
	Settled func()
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Debounce <= 0 {
		o.Debounce = min(DefaultDebounce, o.Interval)
	}
	if o.PageSize <= 0 {
		o.PageSize = kube.DefaultPageSize
	}
	if o.TopNamespaces <= 0 {
		o.TopNamespaces = DefaultTopNamespaces
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMaxSeries
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Agent watches a cluster and evaluates the checks over what it holds.
type Agent struct {
	opts   Options
	feeds  *kube.Feeds
	cmData *kube.ConfigMapData
	need   kube.Need
	log    *slog.Logger

	changed    chan struct{} // a watched object changed
	rediscover chan struct{} // an APIService or CRD changed

	mu    sync.Mutex
	disc  *kube.Discovery
	kinds map[snapshot.Resource]*kind
	stops map[snapshot.Resource]context.CancelFunc
	last  *evaluation

	settled sync.Once
}

// evaluation is the outcome of one run of the checks.
type evaluation struct {
	result   *check.Result
	json     []byte
	gauges   *gauges
	finished time.Time
	duration time.Duration
}

// New returns an agent for opts; Run starts it.
func New(opts Options) (*Agent, error) {
	opts.defaults()
	if opts.Config == nil {
		return nil, errors.New("agent: no client configuration")
	}
	// Bad parameters fail here, not at every evaluation.
	if _, err := check.Run(context.Background(), &snapshot.Snapshot{}, opts.Checks, check.Options{Params: opts.Params}); err != nil {
		return nil, err
	}
	feeds, err := kube.NewFeeds(opts.Config)
	if err != nil {
		return nil, err
	}
	return &Agent{opts: opts, feeds: feeds, cmData: kube.NewConfigMapData(opts.Config), need: kube.NeedOf(opts.Checks), log: opts.Log,
		changed: make(chan struct{}, 1), rediscover: make(chan struct{}, 1),
		kinds: map[snapshot.Resource]*kind{}, stops: map[snapshot.Resource]context.CancelFunc{}}, nil
}

// Run watches and evaluates until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	defer a.stopAll()
	if m := a.opts.APIServerSample; m != nil {
		go m.Run(ctx)
	}
	if err := a.discover(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(a.opts.Interval)
	defer tick.Stop()
	var soon <-chan time.Time // the debounced evaluation after a change
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.rediscover:
			if err := a.rediscoverOnce(ctx); err != nil {
				a.log.Warn("discovery failed; trying again", "err", err)
				retry = time.After(jitter(a.opts.Debounce))
			}
			continue
		case <-retry:
			retry = nil
			a.signal(a.rediscover)
			continue
		case <-a.changed:
			if soon == nil {
				soon = time.After(a.debounce())
			}
			continue
		case <-soon:
			soon = nil
		case <-tick.C:
		}
		a.evaluate(ctx)
	}
}

// discover waits for a first successful discovery (the server may not be
// up yet), with backoff.
func (a *Agent) discover(ctx context.Context) error {
	delay := time.Second
	for {
		err := a.rediscoverOnce(ctx)
		if err == nil {
			return nil
		}
		a.log.Warn("discovery failed; trying again", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(jitter(delay)):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// rediscoverOnce asks the server what it serves and starts (or stops) the
// informers to match.
func (a *Agent) rediscoverOnce(ctx context.Context) error {
	d, err := a.feeds.Discover(a.need.Want)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.disc = d
	want := map[snapshot.Resource]bool{}
	for _, res := range d.Kinds {
		want[res] = true
		if a.kinds[res] != nil {
			continue
		}
		feed := a.feeds.Feed(res, d.Namespaced[res], a.opts.Namespace)
		notify := func() { a.signal(a.changed) }
		if res == snapshot.APIServices || res == snapshot.CRDs {
			notify = func() { a.signal(a.changed); a.signal(a.rediscover) }
		}
		k := newKind(res, feed, a.opts.PageSize, a.log, notify)
		kctx, cancel := context.WithCancel(ctx)
		a.kinds[res], a.stops[res] = k, cancel
		go k.run(kctx)
		go func() {
			// The interner may grow with the kind once it is read whole.
			if k.waitSynced(kctx) {
				feed.Synced()
				a.log.Info("informer synced", "resource", res.Name())
			}
		}()
	}
	for res, cancel := range a.stops {
		if !want[res] {
			cancel()
			delete(a.kinds, res)
			delete(a.stops, res)
		}
	}
	return nil
}

func (k *kind) waitSynced(ctx context.Context) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if k.store.Synced() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func (a *Agent) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (a *Agent) stopAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, cancel := range a.stops {
		cancel()
	}
}

// kindsNow returns the informers, ordered by resource name.
func (a *Agent) kindsNow() (*kube.Discovery, []*kind) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ks := make([]*kind, 0, len(a.kinds))
	for _, k := range a.kinds {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(x, y *kind) int { return strings.Compare(x.res.Name(), y.res.Name()) })
	return a.disc, ks
}

// readConfigMapData reads the ConfigMap data the evaluation will want
// before it locks every store: a store's watch waits while it is locked,
// and hundreds of GETs (the first evaluation's) take seconds, long enough
// for the API server to end a watch that does not keep up. The stores that
// decide which ConfigMaps are wanted are locked only while that is worked
// out.
func (a *Agent) readConfigMapData(ctx context.Context, ks []*kind) {
	pre := &snapshot.Snapshot{}
	var release []func()
	for _, k := range ks {
		if slices.Contains(kube.ConfigMapDataKinds, k.res) && k.state().readable {
			release = append(release, k.store.Fill(pre))
		}
	}
	plan := a.cmData.Plan(pre) // nothing to read without ConfigMaps' metadata
	for _, r := range release {
		r()
	}
	if gets, lists, err := a.cmData.Read(ctx, plan); err != nil {
		a.log.Debug("configmap data not read before the evaluation", "err", err, "gets", gets, "lists", lists)
	} else if gets+lists > 0 {
		a.log.Debug("configmap data read", "gets", gets, "lists", lists)
	}
}

// evaluate runs the checks over the informer caches, as `premortem scan`
// runs them over its read: a kind not readable now is skipped, with the
// scan's reasons, and the result is incomplete.
func (a *Agent) evaluate(ctx context.Context) {
	start := time.Now()
	d, ks := a.kindsNow()
	if d == nil {
		return
	}
	a.readConfigMapData(ctx, ks)
	snap := a.feeds.StartSnapshot(ctx, d)
	counts := map[snapshot.Resource]map[string]int{}
	for _, k := range ks {
		st := k.state()
		if !st.readable {
			snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: k.res, Reason: st.reason})
			continue
		}
		// Counted before Fill: a second read lock of a store could wait
		// behind its watch, which waits for Fill's.
		if perNS := k.store.PerNamespace(); len(perNS) > 0 {
			counts[k.res] = perNS
		}
		// The stores stay read-locked (their watches wait) until the
		// evaluation is done with the snapshot, which holds their objects.
		defer k.store.Fill(snap)()
	}
	// ConfigMaps are watched metadata-only; the data of the ones a scan
	// reads is held between evaluations and read by name when it changes:
	// read already, but for a change since readConfigMapData.
	if gets, lists, err := a.cmData.Fill(ctx, snap); err != nil {
		a.log.Warn("configmap data not read", "err", err, "gets", gets, "lists", lists)
	} else if gets+lists > 0 {
		a.log.Debug("configmap data read", "gets", gets, "lists", lists)
	}
	kube.FinishSnapshot(snap, time.Now())
	a.need.Narrow(&snap.Info)
	res, err := check.Run(ctx, snap, a.opts.Checks, check.Options{Params: a.opts.Params, Log: a.log})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("evaluation failed", "err", err)
		}
		return
	}
	accept.Apply(res, snap, nil)
	var buf bytes.Buffer
	if err := report.Write(&buf, "json", res); err != nil {
		a.log.Error("evaluation output", "err", err)
		return
	}
	g := measure(snap, res, counts, limits{top: a.opts.TopNamespaces, maxSeries: a.opts.MaxSeries}, snap.Info.TakenAt)
	e := &evaluation{result: res, json: buf.Bytes(), gauges: g, finished: time.Now(), duration: time.Since(start)}
	a.mu.Lock()
	a.last = e
	a.mu.Unlock()
	a.log.Debug("evaluated", "findings", len(res.Findings), "complete", res.Complete(), "seconds", e.duration.Seconds())
	if res.Complete() && a.opts.Settled != nil {
		a.settled.Do(a.opts.Settled)
	}
}

// busyShare bounds the share of one core that evaluations brought forward
// by changes may take: on a large cluster something always changes (the
// API servers renew their identity Leases every 10 s), and at 150,000 pods
// an evaluation takes about 2 s.
const busyShare = 20 // at most 1/20 of a core

// debounce is how long after a change the next evaluation runs: Debounce,
// or busyShare times the last evaluation's duration when that is longer,
// but never later than the interval would.
func (a *Agent) debounce() time.Duration {
	if e := a.latest(); e != nil {
		return max(a.opts.Debounce, min(busyShare*e.duration, a.opts.Interval))
	}
	return a.opts.Debounce
}

func (a *Agent) latest() *evaluation {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// notSynced names the informers that are not (or no longer) readable, for
// /readyz.
func (a *Agent) notReady() ([]string, bool) {
	d, ks := a.kindsNow()
	if d == nil {
		return []string{"discovery"}, false
	}
	var out []string
	for _, k := range ks {
		if st := k.state(); !st.readable {
			out = append(out, fmt.Sprintf("%s: %s", k.res.Name(), st.reason))
		}
	}
	return out, len(out) == 0
}
