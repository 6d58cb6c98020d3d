package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// pager serves items 0..total-1 in pages of opts.Limit, fails as told and
// records every request's options.
type pager struct {
	total int
	fail  func(call int, opts metav1.ListOptions) error
	// cont, when set, replaces the continue token of a page.
	cont  func(call int, next string) string
	calls []metav1.ListOptions
	got   []int
	// objBytes, when set, is every object's size in Page.Bytes.
	objBytes int64
	// unannounced leaves Remaining out, as a server does with a selector.
	unannounced bool
}

func (p *pager) page(_ context.Context, opts metav1.ListOptions) (Page, error) {
	p.calls = append(p.calls, opts)
	if p.fail != nil {
		if err := p.fail(len(p.calls), opts); err != nil {
			return Page{}, err
		}
	}
	start := 0
	if opts.Continue != "" {
		fmt.Sscanf(opts.Continue, "from-%d", &start)
	}
	end := min(start+int(opts.Limit), p.total)
	for i := start; i < end; i++ {
		p.got = append(p.got, i)
	}
	next := ""
	if end < p.total {
		next = fmt.Sprintf("from-%d", end)
	}
	if p.cont != nil {
		next = p.cont(len(p.calls), next)
	}
	// As a real server does: how many objects the chain still holds.
	pg := Page{Continue: next, Items: end - start, Remaining: int64(p.total - end), Bytes: int64(end-start) * p.objBytes}
	if p.unannounced {
		pg.Remaining = 0
	}
	return pg, nil
}

// Pages that say their size grow after the first, toward grownPages pages,
// within MaxPageSize and MaxPageBytes; every object is read once.
func TestListPagesGrow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		total       int
		objBytes    int64
		unannounced bool
		opts        ListOptions
		limits      []int64 // of every request, in order
	}{
		{name: "size unknown", total: 2500, opts: ListOptions{PageSize: 500},
			limits: []int64{500, 500, 500, 500, 500}},
		{name: "short chain", total: 2500, objBytes: 100, opts: ListOptions{PageSize: 500},
			limits: []int64{500, 500, 500, 500, 500}},
		{name: "toward 16 pages", total: 160000, objBytes: 100, opts: ListOptions{PageSize: 500},
			limits: append([]int64{500}, slices.Repeat([]int64{5000}, 32)...)},
		{name: "bounded by bytes", total: 20000, objBytes: 16 << 10, opts: ListOptions{PageSize: 500, MaxPageBytes: 16 << 20},
			limits: append([]int64{500}, slices.Repeat([]int64{1024}, 20)...)},
		{name: "growth off", total: 20000, objBytes: 100, opts: ListOptions{PageSize: 500, MaxPageSize: 500},
			limits: slices.Repeat([]int64{500}, 40)},
		{name: "not announced", total: 20000, objBytes: 100, unannounced: true, opts: ListOptions{PageSize: 500, LabelSelector: "a=b"},
			limits: slices.Repeat([]int64{500}, 40)},
		{name: "never below the page size", total: 20000, objBytes: 1 << 20, opts: ListOptions{PageSize: 500},
			limits: slices.Repeat([]int64{500}, 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &pager{total: tc.total, objBytes: tc.objBytes, unannounced: tc.unannounced}
			st, err := List(context.Background(), tc.opts, "pods", p.page, nil)
			if err != nil {
				t.Fatal(err)
			}
			var limits []int64
			for _, c := range p.calls {
				limits = append(limits, c.Limit)
			}
			// The last page asks for its full limit and gets the rest.
			if !slices.Equal(limits[:len(limits)-1], tc.limits[:len(tc.limits)-1]) || len(limits) != len(tc.limits) {
				t.Errorf("limits %v, want %v", limits, tc.limits)
			}
			if len(p.got) != tc.total || st.Items != int64(tc.total) {
				t.Errorf("read %d objects (%d counted) of %d", len(p.got), st.Items, tc.total)
			}
			for i, v := range p.got {
				if v != i {
					t.Fatalf("object %d read as %d", i, v)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	gone := apierrors.NewResourceExpired("The provided continue parameter is too old")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC: no"))
	tests := []struct {
		name         string
		opts         ListOptions
		fail         func(call int, opts metav1.ListOptions) error
		cont         func(call int, next string) string
		wantRequests int
		wantRestart  bool
		wantErr      error // errors.Is; nil: 0..24 read once
	}{
		{name: "three pages", wantRequests: 3},
		{name: "selectors on every page", opts: ListOptions{LabelSelector: "owner=helm", FieldSelector: "type=x"}, wantRequests: 3},
		{name: "expired continue token restarts once", fail: func(call int, _ metav1.ListOptions) error {
			if call == 2 {
				return gone
			}
			return nil
		}, wantRequests: 5, wantRestart: true},
		{name: "expired twice gives up", fail: func(_ int, o metav1.ListOptions) error {
			if o.Continue != "" {
				return gone
			}
			return nil
		}, wantRequests: 4, wantRestart: true, wantErr: gone},
		{name: "expired on a first page is not a restart", fail: func(int, metav1.ListOptions) error { return gone },
			wantRequests: 1, wantErr: gone},
		{name: "forbidden", fail: func(int, metav1.ListOptions) error { return forbidden }, wantRequests: 1, wantErr: forbidden},
		{name: "repeated continue token", cont: func(int, string) string { return "same" }, wantRequests: 2, wantErr: ErrChainBroken},
		{name: "endless chain", opts: ListOptions{MaxPages: 2}, wantRequests: 2, wantErr: ErrChainBroken},
		// 25 objects in pages of 10 take 3 pages; one of slack, then the
		// chain is longer than the first page said it could be.
		{name: "chain longer than announced", cont: func(call int, _ string) string { return fmt.Sprintf("new-%d", call) },
			wantRequests: 4, wantErr: ErrChainBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pager{total: 25, fail: tt.fail, cont: tt.cont}
			o := tt.opts
			o.PageSize = 10
			restarts := 0
			st, err := List(context.Background(), o, "pods", p.page, func() { restarts++; p.got = nil })
			if st.Requests != tt.wantRequests || st.Restarted != tt.wantRestart || st.Requests != len(p.calls) || restarts != btoi(tt.wantRestart) {
				t.Errorf("requests %d (calls %d), restarted %v (%d calls); want %d, %v", st.Requests, len(p.calls), st.Restarted, restarts, tt.wantRequests, tt.wantRestart)
			}
			for i, c := range p.calls {
				first := c.Continue == ""
				if first && (c.ResourceVersion != FirstPageResourceVersion || c.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan) {
					t.Errorf("call %d: first page %+v not from the watch cache", i, c)
				}
				if !first && (c.ResourceVersion != "" || c.ResourceVersionMatch != "") {
					t.Errorf("call %d: continue page %+v carries a resourceVersion", i, c)
				}
				if c.Limit != 10 || c.LabelSelector != o.LabelSelector || c.FieldSelector != o.FieldSelector {
					t.Errorf("call %d: %+v lost the limit or the selectors of %+v", i, c, o)
				}
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.got) != 25 || p.got[0] != 0 || p.got[24] != 24 {
				t.Errorf("items %v: want 0..24 once", p.got)
			}
		})
	}
}

// A cancelled context ends the chain between pages.
func TestListStopsBetweenPages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pager{total: 25, fail: func(call int, _ metav1.ListOptions) error {
		if call == 2 {
			cancel()
		}
		return nil
	}}
	st, err := List(ctx, ListOptions{PageSize: 10}, "pods", p.page, nil)
	if !errors.Is(err, context.Canceled) || st.Requests != 2 {
		t.Errorf("requests %d, err %v; want 2 and context.Canceled", st.Requests, err)
	}
}

// A page that does not answer ends at PageTimeout, not with the caller's
// context.
func TestListPageTimeout(t *testing.T) {
	hang := func(ctx context.Context, _ metav1.ListOptions) (Page, error) {
		<-ctx.Done()
		return Page{}, ctx.Err()
	}
	st, err := List(context.Background(), ListOptions{PageTimeout: 10 * time.Millisecond}, "pods", hang, nil)
	if !errors.Is(err, context.DeadlineExceeded) || st.Requests != 1 {
		t.Errorf("requests %d, err %v; want 1 and a deadline", st.Requests, err)
	}
}

// The page size defaults to DefaultPageSize.
func TestListDefaultPageSize(t *testing.T) {
	p := &pager{total: 3}
	if _, err := List(context.Background(), ListOptions{}, "pods", p.page, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 1 || p.calls[0].Limit != DefaultPageSize {
		t.Errorf("calls %+v, want one with limit %d", p.calls, DefaultPageSize)
	}
}

// A server that answers 429 with Retry-After is retried after the delay it
// asks for, with the client configuration premortem uses, and the page read
// is the answer that followed.
func TestTooManyRequestsIsRetried(t *testing.T) {
	var calls atomic.Int32
	var first, second time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`))
		default:
			second = time.Now()
			if r.URL.Query().Get("resourceVersion") != FirstPageResourceVersion {
				t.Errorf("retried request lost its options: %s", r.URL)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},
				"items":[{"metadata":{"name":"s1","namespace":"ns","managedFields":[{"manager":"x"}]}}]}`))
		}
	}))
	defer srv.Close()
	cfg := Configure(&rest.Config{Host: srv.URL}, ClientOptions{UserAgent: "premortem/test"})
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []page
	n, _, err := (&Reader{}).listKind(context.Background(), &clients{metadata: md}, specFor(snapshot.Secrets), "",
		func(p page, _ bool) { got = append(got, p) }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || n != 1 {
		t.Fatalf("server saw %d requests, reader counted %d; want 2 and 1", calls.Load(), n)
	}
	if wait := second.Sub(first); wait < 900*time.Millisecond {
		t.Errorf("retried after %s, want the 1s Retry-After", wait)
	}
	items := got[0].items.([]metav1.PartialObjectMetadata)
	if len(items) != 1 || items[0].Name != "s1" || items[0].ManagedFields != nil {
		t.Errorf("items = %+v", items)
	}
}

// A server that answers every request with 429 and Retry-After is retried
// by client-go a bounded number of times (10), with the options of the
// page, and the chain then fails with the 429.
func TestListTooManyRequestsIsBounded(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if q := r.URL.Query(); q.Get("resourceVersion") != FirstPageResourceVersion || q.Get("limit") != "5" || q.Get("labelSelector") != "owner=helm" {
			t.Errorf("request lost its options: %s", r.URL)
		}
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`))
	}))
	defer srv.Close()
	md, err := metadata.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{UserAgent: "premortem/test"}))
	if err != nil {
		t.Fatal(err)
	}
	secrets := md.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace("ns")
	st, err := List(context.Background(), ListOptions{PageSize: 5, LabelSelector: "owner=helm"}, "secrets",
		Typed(secrets.List, MetadataItems, func([]metav1.PartialObjectMetadata) { t.Error("a page from a 429") }), nil)
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("err %v, want 429", err)
	}
	if calls.Load() != 11 || st.Requests != 1 {
		t.Errorf("server saw %d requests, List sent %d; want 11 (one and 10 retries) and 1", calls.Load(), st.Requests)
	}
}

// Every kind with Go types is listed through its group's REST client into
// its own list type, for the snapshot and for a Visitor: the request path,
// the limit, the items and the continue token come through.
func TestTypedKindsList(t *testing.T) {
	type lister func(c *clients) (int, string, error)
	listers := map[string]lister{}
	for res, spec := range specs {
		if spec.metadata || res == snapshot.APIServices {
			continue
		}
		listers["spec "+res.Name()] = func(c *clients) (int, string, error) {
			p, cont, err := spec.list(context.Background(), c, "", metav1.ListOptions{Limit: 5}, interner{})
			return p.n, cont, err
		}
	}
	for res, vs := range visitSpecs {
		listers["visit "+res.Name()] = func(c *clients) (int, string, error) {
			seen := 0
			n, cont, err := vs.list(context.Background(), c, "", metav1.ListOptions{Limit: 5}, func(any) { seen++ })
			if seen != n {
				t.Errorf("%s: visited %d of %d", res.Name(), seen, n)
			}
			return n, cont, err
		}
	}
	resOf := map[string]snapshot.Resource{}
	for res := range specs {
		resOf["spec "+res.Name()] = res
	}
	for res := range visitSpecs {
		resOf["visit "+res.Name()] = res
	}
	for name, list := range listers {
		t.Run(name, func(t *testing.T) {
			res := resOf[name]
			gv := schema.GroupVersion{Group: res.Group, Version: res.Version}
			path := "/apis/" + gv.String() + "/" + res.Resource
			if res.Group == "" {
				path = "/api/v1/" + res.Resource
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != path || r.URL.Query().Get("limit") != "5" {
					t.Errorf("request %s, want %s?limit=5", r.URL, path)
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"apiVersion":%q,"kind":"%sList","metadata":{"continue":"next"},"items":[{"metadata":{"name":"x","managedFields":[{"manager":"m"}]}}]}`, gv.String(), res.Kind)
			}))
			defer srv.Close()
			typed, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			n, cont, err := list(&clients{typed: typed, rest: typed.CoreV1().RESTClient()})
			if err != nil || n != 1 || cont != "next" {
				t.Errorf("listed %d objects, continue %q, err %v; want 1, next", n, cont, err)
			}
		})
	}
}

// A consistent chain's first page asks for no resourceVersion, and only
// with a selector: unnarrowed, it is read from the watch cache as ever.
func TestListConsistentFirstPage(t *testing.T) {
	for _, tc := range []struct {
		selector string
		wantRV   string
	}{
		{selector: "owner=helm,name=web", wantRV: ""},
		{selector: "", wantRV: FirstPageResourceVersion},
	} {
		var got []string
		page := func(_ context.Context, opts metav1.ListOptions) (Page, error) {
			got = append(got, opts.ResourceVersion+"|"+string(opts.ResourceVersionMatch))
			if len(got) == 1 {
				return Page{Continue: "next", Items: 1}, nil
			}
			return Page{Items: 1}, nil
		}
		if _, err := List(context.Background(), ListOptions{PageSize: 1, LabelSelector: tc.selector, Consistent: true}, "secrets", page, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{tc.wantRV + "|", "|"}
		if tc.wantRV != "" {
			want[0] += string(metav1.ResourceVersionMatchNotOlderThan)
		}
		if !slices.Equal(got, want) {
			t.Errorf("selector %q: pages asked resourceVersion|match %q, want %q", tc.selector, got, want)
		}
	}
}

// Leases are read, LIST and watch, without the kubelets' heartbeats in
// kube-node-lease, whatever selector the read has of its own.
func TestLeasesLeaveOutNodeHeartbeats(t *testing.T) {
	const nodeLeases = "metadata.namespace!=kube-node-lease"
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		got = append(got, q.Get("watch")+" "+q.Get("fieldSelector"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if q.Get("watch") == "" {
			w.Write([]byte(`{"apiVersion":"coordination.k8s.io/v1","kind":"LeaseList","metadata":{},"items":[]}`))
		}
	}))
	defer srv.Close()
	typed, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := &clients{typed: typed, rest: typed.CoreV1().RESTClient()}
	spec := specs[snapshot.Leases]
	for _, own := range []string{"", "metadata.name=kube-scheduler"} {
		if _, _, err := spec.list(context.Background(), c, "", metav1.ListOptions{Limit: 5, FieldSelector: own}, interner{}); err != nil {
			t.Fatal(err)
		}
		w, err := spec.watch(context.Background(), c, "", metav1.ListOptions{FieldSelector: own})
		if err != nil {
			t.Fatal(err)
		}
		w.Stop()
	}
	want := []string{" " + nodeLeases, "true " + nodeLeases,
		" metadata.name=kube-scheduler," + nodeLeases, "true metadata.name=kube-scheduler," + nodeLeases}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("field selectors sent %q, want %q", got, want)
	}
}
