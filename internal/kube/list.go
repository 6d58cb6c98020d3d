package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of a LIST chain.
const (
	// DefaultMaxPages ends a chain that goes on longer than any real kind
	// needs (10 million objects in pages of 500): a server handing out new
	// continue tokens forever must not keep premortem reading.
	DefaultMaxPages = 20000
	// DefaultPageTimeout bounds one page, client-go's retries of a 429
	// (Retry-After) included.
	DefaultPageTimeout = 2 * time.Minute
	// A long chain's later pages grow (ListOptions.MaxPageSize) toward
	// grownPages pages, to at most DefaultMaxPageFactor times the page size
	// and about DefaultMaxPageBytes of answer each. Only pages that say
	// their size grow: Pods', decoded as they arrive (podstream.go), so
	// that the client's memory does not grow with them, and metadata-only
	// kinds', whose objects are small.
	grownPages           = 16
	DefaultMaxPageFactor = 10
	DefaultMaxPageBytes  = 16 << 20
)

// ErrChainBroken says a LIST chain was abandoned and its kind not read: the
// server repeated a continue token, or the chain outgrew MaxPages or the
// object count its first page announced.
var ErrChainBroken = errors.New("LIST chain abandoned")

// ListOptions say how a LIST chain is requested. List alone turns them into
// the metav1.ListOptions of each page: no other code in premortem builds
// those for a LIST.
type ListOptions struct {
	PageSize      int64 // objects per page; default DefaultPageSize
	LabelSelector string
	FieldSelector string
	// MaxPages bounds the chain; default DefaultMaxPages.
	MaxPages int
	// PageTimeout bounds each page; default DefaultPageTimeout.
	PageTimeout time.Duration
	// Log receives the restart of a chain; nil discards.
	Log *slog.Logger
	// Count makes the chain a count: one first page of limit 1, served
	// from the watch cache like every first page, whose remainingItemCount
	// says how many objects there are (ListStats.Count). Counting a kind
	// never needs its objects.
	Count bool
	// MaxPageSize and MaxPageBytes let the pages after the first grow, up
	// to MaxPageSize objects and about MaxPageBytes of answer, so that a
	// large kind takes about grownPages pages. Only pages that say their
	// size (Page.Bytes) grow. Zero means the defaults (DefaultMaxPageFactor
	// times PageSize, DefaultMaxPageBytes); MaxPageSize at or below
	// PageSize keeps every page at PageSize.
	//
	// The API server's watch cache (Kubernetes 1.34 to 1.36 at least)
	// serves each page by collecting every object from the page's start
	// to the end of the kind, then sending the first PageSize of them: a
	// chain of P pages over N objects visits about N*P/2 objects. Listing
	// 60,000 pods in pages of 500 made those visits the largest part of
	// the API server's CPU for a scan (docs/benchmarks.md).
	MaxPageSize  int64
	MaxPageBytes int64
	// Consistent makes the first page a consistent read (no
	// resourceVersion): the watch cache may lag a write just made, and for
	// a few objects whose latest state decides (a Helm release's records,
	// just written by helm) a stale answer is a wrong one. It needs a label
	// selector. Servers with ConsistentListFromCache still answer it from
	// the cache, once it has caught up; older ones ask etcd.
	Consistent bool
}

// PageFunc requests one page with opts, hands its objects on, and says
// what the page held.
type PageFunc func(ctx context.Context, opts metav1.ListOptions) (Page, error)

// Page is what one LIST page held.
type Page struct {
	Continue string // "" on the last page
	Items    int
	// Bytes is the size of the page's answer, 0 when not known.
	Bytes int64
	// Remaining is the server's remainingItemCount after this page; 0 when
	// it does not say (it never does with a selector).
	Remaining int64
}

// ListStats is what a chain cost.
type ListStats struct {
	Requests  int   // LIST requests sent (the failing one included)
	Items     int64 // objects received, a restarted chain's included
	Restarted bool  // the continue token expired and the chain began again
	// Count is the number of objects a count (ListOptions.Count) found.
	Count int64
}

// ErrNoCount says a count's page had more objects after it and the server
// did not say how many (remainingItemCount is absent with a selector).
var ErrNoCount = errors.New("the server did not say how many objects remain")

// List reads one kind as a chain of pages. The first page is served from
// the API server's watch cache (FirstPageResourceVersion, NotOlderThan)
// with the page size as its limit; later pages carry only the continue
// token, the limit and the selectors (the server refuses a resourceVersion
// beside a continue token). When a continue token expires (410: etcd
// compacted past the list's revision) restart is called, so the caller
// drops what it holds of the kind, and the chain begins again once from a
// fresh first page; a second expiry is returned. A repeated continue token
// or a chain longer than MaxPages, or longer than the first page's
// remainingItemCount allows, ends in ErrChainBroken. ctx is checked
// between pages.
//
// A 429 with Retry-After is retried by client-go's REST client itself
// after the delay the server asks for, up to its limit of 10 retries per
// request, within PageTimeout; the page then fails with the 429.
//
// what names the kind in the log. restart may be nil when page keeps
// nothing.
func List(ctx context.Context, o ListOptions, what string, page PageFunc, restart func()) (ListStats, error) {
	o = o.withDefaults()
	var st ListStats
	if o.Count {
		return o.count(ctx, page)
	}
	for {
		pages, err := o.chain(ctx, page, &st)
		if err == nil {
			return st, nil
		}
		if !pages.expired || st.Restarted {
			return st, err
		}
		logger(o.Log).Warn("continue token expired; listing the kind again from a fresh resourceVersion",
			"resource", what, "pagesDropped", pages.n)
		st.Restarted = true
		if restart != nil {
			restart()
		}
	}
}

// chainEnd says how far a chain got: pages read, and whether it ended on
// an expired continue token.
type chainEnd struct {
	n       int
	expired bool
}

// count sends a count's one request.
func (o ListOptions) count(ctx context.Context, page PageFunc) (ListStats, error) {
	st := ListStats{Requests: 1}
	pctx, cancel := context.WithTimeout(ctx, o.PageTimeout)
	defer cancel()
	p, err := page(pctx, o.firstPage())
	if err != nil {
		return st, err
	}
	st.Items = int64(p.Items)
	if p.Continue != "" && p.Remaining <= 0 {
		return st, ErrNoCount
	}
	st.Count = int64(p.Items) + max(p.Remaining, 0)
	return st, nil
}

// firstPage is the request of a chain's first page: from the watch cache,
// or consistent when asked for and narrowed by a selector.
func (o ListOptions) firstPage() metav1.ListOptions {
	if o.Consistent && o.LabelSelector != "" {
		return metav1.ListOptions{Limit: o.PageSize, LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector}
	}
	return metav1.ListOptions{Limit: o.PageSize, LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector,
		ResourceVersion: FirstPageResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}
}

func (o ListOptions) withDefaults() ListOptions {
	if o.Count {
		o.PageSize = 1
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPageSize == 0 {
		o.MaxPageSize = DefaultMaxPageFactor * o.PageSize
	}
	if o.MaxPageBytes <= 0 {
		o.MaxPageBytes = DefaultMaxPageBytes
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	return o
}

// chain reads one chain of pages, counting into st.
func (o ListOptions) chain(ctx context.Context, page PageFunc, st *ListStats) (chainEnd, error) {
	opts := o.firstPage()
	seen := map[string]bool{}
	maxPages, announced := o.MaxPages, int64(0)
	var size pageSizer
	for pages := 0; ; pages++ {
		if err := ctx.Err(); err != nil {
			return chainEnd{n: pages}, err
		}
		if pages == maxPages {
			if announced > 0 {
				return chainEnd{n: pages}, fmt.Errorf("%w: more than %d pages of %d, though the first page announced %d objects",
					ErrChainBroken, maxPages, o.PageSize, announced)
			}
			return chainEnd{n: pages}, fmt.Errorf("%w: more than %d pages of %d", ErrChainBroken, maxPages, o.PageSize)
		}
		st.Requests++
		pctx, cancel := context.WithTimeout(ctx, o.PageTimeout)
		p, err := page(pctx, opts)
		cancel()
		if err != nil {
			expired := opts.Continue != "" && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err))
			return chainEnd{n: pages, expired: expired}, err
		}
		st.Items += int64(p.Items)
		if p.Continue == "" {
			return chainEnd{n: pages + 1}, nil
		}
		if pages == 0 && p.Remaining > 0 {
			// A chain is one consistent read: the pages still to come
			// hold exactly the objects the first page announced. One page
			// of slack for a server that rounds.
			announced = int64(p.Items) + p.Remaining
			maxPages = min(maxPages, 2+int((p.Remaining+o.PageSize-1)/o.PageSize))
		}
		if seen[p.Continue] {
			return chainEnd{n: pages + 1}, fmt.Errorf("%w: the server repeated a continue token after %d pages", ErrChainBroken, pages+1)
		}
		seen[p.Continue] = true
		size.add(p)
		opts = metav1.ListOptions{Limit: o.nextPageSize(&size, announced), LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector, Continue: p.Continue}
	}
}

// pageSizer is what a chain's pages held so far.
type pageSizer struct {
	items, bytes int64
	unknown      bool // a page did not say its size
}

func (z *pageSizer) add(p Page) {
	z.items += int64(p.Items)
	z.bytes += p.Bytes
	z.unknown = z.unknown || p.Bytes <= 0
}

// nextPageSize is the limit of the next page: PageSize, or more when the
// pages may grow (MaxPageSize), the chain is long (announced objects in
// more than grownPages pages of PageSize) and every page so far said its
// size, whose mean per object bounds the next page's bytes.
func (o ListOptions) nextPageSize(z *pageSizer, announced int64) int64 {
	if o.MaxPageSize <= o.PageSize || z.unknown || z.items == 0 || announced <= 0 {
		return o.PageSize
	}
	perObject := max(z.bytes/z.items, 1)
	n := min(o.MaxPageSize, o.MaxPageBytes/perObject, (announced+grownPages-1)/grownPages)
	return max(n, o.PageSize)
}

// Typed is the PageFunc of a typed client's List (or the metadata
// client's): each page's objects go to each, then nothing keeps them.
//
//	kube.Typed(client.CoreV1().Secrets(ns).List, func(l *corev1.SecretList) []corev1.Secret { return l.Items }, fn)
func Typed[T any, L metav1.ListInterface](list func(context.Context, metav1.ListOptions) (L, error), items func(L) []T, each func([]T)) PageFunc {
	return func(ctx context.Context, opts metav1.ListOptions) (Page, error) {
		l, err := list(ctx, opts)
		if err != nil {
			return Page{}, err
		}
		objs := items(l)
		each(objs)
		return Page{Continue: l.GetContinue(), Items: len(objs), Remaining: remainingOf(l)}, nil
	}
}

// MetadataItems returns a metadata-only list's objects, for Typed.
func MetadataItems(l *metav1.PartialObjectMetadataList) []metav1.PartialObjectMetadata {
	return l.Items
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
