package agent

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// Request results, the result label of the request counters.
const (
	resultSuccess   = "success"
	resultError     = "error"
	resultForbidden = "forbidden"
	resultExpired   = "expired"
)

var results = []string{resultSuccess, resultError, resultForbidden, resultExpired}

func resultOf(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case apierrors.IsForbidden(err):
		return resultForbidden
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		return resultExpired
	}
	return resultError
}

// watchSlack is how long past its server-side timeout a watch may stay
// open before the agent ends it: every request has a timeout.
const watchSlack = time.Minute

// kind is one watched kind, its cache and what the agent knows of its
// health: a client-go reflector (the informer's list, watch, relist and
// backoff) writing into a kube.Store, which holds the trimmed objects by
// value so that an evaluation reads them in place.
type kind struct {
	res       snapshot.Resource
	feed      *kube.Feed
	store     *kube.Store
	reflector *cache.Reflector
	log       *slog.Logger
	pageSize  int64
	changed   func() // a watched object changed

	mu      sync.Mutex
	healthy bool  // the last request succeeded and the cache is whole
	lastErr error // why not, when a request failed
	lists   map[string]float64
	watches map[string]float64
}

func newKind(res snapshot.Resource, feed *kube.Feed, pageSize int64, log *slog.Logger, changed func()) *kind {
	k := &kind{res: res, feed: feed, log: log, pageSize: pageSize, changed: changed,
		lists: map[string]float64{}, watches: map[string]float64{}}
	lw := &cache.ListWatch{ListWithContextFunc: k.list, WatchFuncWithContext: k.watch}
	k.store = feed.NewStore(changed)
	// No resync: the cache changes only with the watch. A failed list or
	// watch is recorded by k.list and k.watch themselves.
	k.reflector = cache.NewReflectorWithOptions(lw, feed.Example(), k.store, cache.ReflectorOptions{Name: res.Name(), TypeDescription: res.Name()})
	return k
}

// run reads and watches the kind until ctx ends.
func (k *kind) run(ctx context.Context) { k.reflector.RunWithContext(ctx) }

// list is the reflector's LIST, when the server cannot stream the initial
// state (WatchList): premortem's own chain, paginated with the first page
// from the watch cache. The reflector's options are ignored on purpose: its
// fallback is an unpaginated resourceVersion=0 LIST.
func (k *kind) list(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
	l, _, err := k.feed.List(ctx, kube.ListOptions{PageSize: k.pageSize, Log: k.log}, func(err error) {
		k.count(k.lists, err)
	})
	if err != nil {
		k.failed(err)
		return nil, err
	}
	k.ok()
	return l, nil
}

// watch opens the reflector's watch, bounded by its own timeout, and
// observes what it delivers.
func (k *kind) watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	limit := watchSlack
	if opts.TimeoutSeconds != nil {
		limit += time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	w, err := k.feed.Watch(ctx, opts)
	if err != nil {
		cancel()
		k.count(k.watches, err)
		k.failed(err)
		return nil, err
	}
	streaming := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	if !streaming {
		k.ok()
	}
	ow := &observedWatch{inner: w, out: make(chan watch.Event), stop: make(chan struct{}), cancel: cancel}
	go ow.run(func(ev watch.Event) {
		switch ev.Type {
		case watch.Error:
			err := apierrors.FromObject(ev.Object)
			ow.err = err
			k.failed(err)
		case watch.Bookmark:
			if streaming && initialEventsEnd(ev.Object) {
				k.ok()
			}
		}
	}, func() { k.count(k.watches, ow.err) })
	return ow, nil
}

func initialEventsEnd(o runtime.Object) bool {
	m, err := meta.Accessor(o)
	return err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}

func (k *kind) count(m map[string]float64, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m[resultOf(err)]++
}

func (k *kind) ok() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.healthy, k.lastErr = true, nil
}

func (k *kind) failed(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.healthy, k.lastErr = false, err
}

// state is a kind's health at one moment.
type state struct {
	synced   bool // the kind has been read whole once
	readable bool // synced, and its watch is healthy now
	reason   string
	objects  int
	lists    map[string]float64
	watches  map[string]float64
}

func (k *kind) state() state {
	synced := k.store.Synced()
	objects := k.store.Len()
	k.mu.Lock()
	defer k.mu.Unlock()
	s := state{synced: synced, readable: synced && k.healthy, objects: objects,
		lists: maps.Clone(k.lists), watches: maps.Clone(k.watches)}
	switch {
	case k.lastErr != nil:
		s.reason = kube.SkipReason(k.lastErr)
	case !synced:
		s.reason = "error: not read yet"
	case !s.readable:
		s.reason = "error: watch not established"
	}
	return s
}

// observedWatch passes a watch's events on, observing each, and reports
// the end of the request once.
type observedWatch struct {
	inner  watch.Interface
	out    chan watch.Event
	stop   chan struct{}
	once   sync.Once
	cancel context.CancelFunc
	err    error // an error event, set before done runs
}

func (w *observedWatch) ResultChan() <-chan watch.Event { return w.out }

func (w *observedWatch) Stop() {
	w.once.Do(func() {
		close(w.stop)
		w.inner.Stop()
		w.cancel()
	})
}

func (w *observedWatch) run(observe func(watch.Event), done func()) {
	defer done()
	defer close(w.out)
	defer w.cancel()
	in := w.inner.ResultChan()
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				return
			}
			observe(ev)
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
		case <-w.stop:
			return
		}
	}
}
