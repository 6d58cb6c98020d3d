package kube

import (
	"cmp"
	"context"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/snapshot"
)

// notCounted are served kinds a count must not LIST: componentstatuses
// probes the components on every LIST (nothing is stored), and the API
// server keeps no watch cache for events (--watch-cache-sizes defaults them
// to 0), so their LIST, even of limit 1, would reach etcd.
var notCounted = map[schema.GroupResource]bool{
	{Group: "", Resource: "componentstatuses"}:   true,
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// countKind is a kind to count.
type countKind struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

// countable returns the kinds to count: served by the API server itself
// (an APIService without a service: built-in kinds and custom resources;
// an aggregated API's LIST would reach another server, which may compute
// its answer), listable, not among the kinds the read listed, each group
// resource once at its group's preferred version. Without APIServices in
// snap nothing is known to be local, and nothing is counted.
func countable(snap *snapshot.Snapshot, served map[schema.GroupVersionResource]metav1.APIResource, preferred map[string]string, listed []snapshot.Resource) []countKind {
	local := map[schema.GroupVersion]bool{}
	for _, a := range snap.APIServices {
		if a.Service == nil {
			local[schema.GroupVersion{Group: a.Group, Version: a.Version}] = true
		}
	}
	byGR := map[schema.GroupResource]countKind{}
	for gvr, ar := range served {
		gr := gvr.GroupResource()
		if !local[gvr.GroupVersion()] || !slices.Contains(ar.Verbs, "list") || notCounted[gr] {
			continue
		}
		if slices.ContainsFunc(listed, func(r snapshot.Resource) bool { return r.Group == gr.Group && r.Resource == gr.Resource }) {
			continue
		}
		// The preferred version, else the highest: the count is the same.
		if had, ok := byGR[gr]; ok && (had.gvr.Version == preferred[gr.Group] ||
			gvr.Version != preferred[gr.Group] && had.gvr.Version > gvr.Version) {
			continue
		}
		byGR[gr] = countKind{gvr: gvr, kind: ar.Kind, namespaced: ar.Namespaced}
	}
	out := make([]countKind, 0, len(byGR))
	for _, k := range byGR {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b countKind) int {
		return cmp.Or(cmp.Compare(a.gvr.Group, b.gvr.Group), cmp.Compare(a.gvr.Resource, b.gvr.Resource))
	})
	return out
}

// countKinds counts kinds, conc at a time, into snap.Info.Counts, in the
// order given, and returns the requests sent. A kind that cannot be counted
// (RBAC, a server that does not say) has no count; that is no gap in the
// read, since nothing needs it to be complete.
func (r *Reader) countKinds(ctx context.Context, c *clients, snap *snapshot.Snapshot, kinds []countKind, conc int) int {
	counts := make([]*snapshot.Count, len(kinds))
	requests := make([]int, len(kinds))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, k := range kinds {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := snapshot.Resource{Group: k.gvr.Group, Version: k.gvr.Version, Resource: k.gvr.Resource, Kind: k.kind}
			page := Typed(c.metadata.Resource(k.gvr).List, MetadataItems, func([]metav1.PartialObjectMetadata) {})
			st, err := List(ctx, ListOptions{Count: true, Log: r.Log}, res.Name(), page, nil)
			requests[i] = st.Requests
			if err != nil {
				logger(r.Log).Debug("count not read", "resource", res.Name(), "err", err)
				return
			}
			counts[i] = &snapshot.Count{Resource: res, Namespaced: k.namespaced, Count: st.Count}
		}()
	}
	wg.Wait()
	n := 0
	for i, c := range counts {
		n += requests[i]
		if c != nil {
			snap.Info.Counts = append(snap.Info.Counts, *c)
		}
	}
	return n
}
