package kube

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A count is one cache-served request of limit 1, whatever the page size,
// and its remainingItemCount says the rest.
func TestListCount(t *testing.T) {
	tests := []struct {
		name    string
		total   int
		noCount bool // the server does not say how many remain
		want    int64
		wantErr error
	}{
		{name: "many", total: 25, want: 25},
		{name: "one", total: 1, want: 1},
		{name: "none", total: 0, want: 0},
		{name: "server does not say", total: 25, noCount: true, wantErr: ErrNoCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pager{total: tt.total}
			page := p.page
			if tt.noCount {
				page = func(ctx context.Context, opts metav1.ListOptions) (Page, error) {
					pg, err := p.page(ctx, opts)
					pg.Remaining = 0
					return pg, err
				}
			}
			st, err := List(context.Background(), ListOptions{PageSize: 500, Count: true}, "widgets.example.com", page, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if st.Requests != 1 || len(p.calls) != 1 {
				t.Fatalf("requests %d (calls %d), want 1", st.Requests, len(p.calls))
			}
			c := p.calls[0]
			if c.Limit != 1 || c.Continue != "" || c.ResourceVersion != FirstPageResourceVersion || c.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
				t.Errorf("count request %+v: want limit 1 from the watch cache", c)
			}
			if err == nil && st.Count != tt.want {
				t.Errorf("count %d, want %d", st.Count, tt.want)
			}
		})
	}
}
