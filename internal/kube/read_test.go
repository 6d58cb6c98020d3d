package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// pagedKind is a kind whose LIST serves items 0..total-1 in pages and fails
// as told; it records every request's options.
type pagedKind struct {
	total int
	fail  func(call int, opts metav1.ListOptions) error
	calls []metav1.ListOptions
}

func (k *pagedKind) spec() *kindSpec {
	return &kindSpec{
		res: snapshot.Pods,
		list: func(_ context.Context, _ *clients, _ string, opts metav1.ListOptions, _ interner) (page, string, error) {
			k.calls = append(k.calls, opts)
			if err := k.fail(len(k.calls), opts); err != nil {
				return page{}, "", err
			}
			start := 0
			if opts.Continue != "" {
				fmt.Sscanf(opts.Continue, "from-%d", &start)
			}
			end := min(start+int(opts.Limit), k.total)
			var items []int
			for i := start; i < end; i++ {
				items = append(items, i)
			}
			cont := ""
			if end < k.total {
				cont = fmt.Sprintf("from-%d", end)
			}
			return page{items: items, n: len(items)}, cont, nil
		},
	}
}

func TestListKind(t *testing.T) {
	gone := apierrors.NewResourceExpired("The provided continue parameter is too old")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", fmt.Errorf("RBAC: no"))
	tests := []struct {
		name         string
		fail         func(call int, opts metav1.ListOptions) error
		wantRequests int
		wantRestart  bool
		wantErr      string // prefix of SkipReason
	}{
		{"three pages", func(int, metav1.ListOptions) error { return nil }, 3, false, ""},
		{"expired continue token restarts once", func(call int, _ metav1.ListOptions) error {
			if call == 2 {
				return gone
			}
			return nil
		}, 5, true, ""},
		{"expired twice gives up", func(_ int, o metav1.ListOptions) error {
			if o.Continue != "" {
				return gone
			}
			return nil
		}, 4, true, "error: continue token expired twice"},
		{"forbidden", func(int, metav1.ListOptions) error { return forbidden }, 1, false, "forbidden: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &pagedKind{total: 25, fail: tt.fail}
			r := &Reader{PageSize: 10}
			var pages []page
			firsts := 0
			emit := func(p page, first bool) {
				pages = append(pages, p)
				if first {
					firsts++
				}
			}
			drop := func() { pages = nil }
			requests, restarted, err := r.listKind(context.Background(), nil, k.spec(), "", emit, drop)
			if requests != tt.wantRequests || restarted != tt.wantRestart || requests != len(k.calls) {
				t.Errorf("requests %d (calls %d), restarted %v; want %d, %v", requests, len(k.calls), restarted, tt.wantRequests, tt.wantRestart)
			}
			// The options of each page are List's (TestList).
			if k.calls[0].Limit != 10 {
				t.Errorf("limit %d, want the Reader's page size", k.calls[0].Limit)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(SkipReason(err), tt.wantErr) {
					t.Fatalf("err %v (%q), want %q", err, SkipReason(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var items []int
			for _, p := range pages {
				items = append(items, p.items.([]int)...)
			}
			if len(items) != 25 || items[0] != 0 || items[24] != 24 {
				t.Errorf("items %v: want 0..24 once", items)
			}
			if want := 1 + btoi(tt.wantRestart); firsts != want {
				t.Errorf("%d first pages, want %d", firsts, want)
			}
		})
	}
}

// A visited kind whose continue token expires is listed again, and the
// visitor still sees each object once.
func TestVisitedKindRestart(t *testing.T) {
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("cm-%02d", i))
	}
	calls := 0
	vs := visitSpec{list: func(_ context.Context, _ *clients, _ string, opts metav1.ListOptions, each func(any)) (int, string, error) {
		calls++
		if calls == 3 {
			return 0, "", apierrors.NewResourceExpired("too old")
		}
		start := 0
		if opts.Continue != "" {
			fmt.Sscanf(opts.Continue, "from-%d", &start)
		}
		end := min(start+int(opts.Limit), len(names))
		for _, n := range names[start:end] {
			each(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n}})
		}
		cont := ""
		if end < len(names) {
			cont = fmt.Sprintf("from-%d", end)
		}
		return end - start, cont, nil
	}}
	seen := map[string]int{}
	spec := visitKind(snapshot.ConfigMaps, vs, func(_ snapshot.Resource, o any) { seen[o.(*corev1.ConfigMap).Name]++ }, &sync.Mutex{})
	r := &Reader{PageSize: 10}
	_, restarted, err := r.listKind(context.Background(), nil, spec, "", func(page, bool) {}, func() { spec.reset(nil) })
	if err != nil || !restarted {
		t.Fatalf("restarted %v, err %v; want a restart and no error", restarted, err)
	}
	for _, n := range names {
		if seen[n] != 1 {
			t.Errorf("%s visited %d times, want once", n, seen[n])
		}
	}
}
