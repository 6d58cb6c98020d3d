package audit

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestClassifyList(t *testing.T) {
	tests := []struct {
		uri        string
		class      ListClass
		label, fld bool
	}{
		{"/api/v1/pods", ListConsistent, false, false},
		{"/api/v1/pods?labelSelector=app%3Dweb", ListConsistent, true, false},
		{"/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&resourceVersion=", ListConsistent, false, true},
		{"/api/v1/pods?limit=500", ListConsistentPaged, false, false},
		{"/api/v1/pods?limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEi", ListContinue, false, false},
		{"/api/v1/pods?resourceVersion=0", ListAny, false, false},
		{"/api/v1/pods?limit=500&resourceVersion=0", ListAny, false, false},
		{"/api/v1/pods?resourceVersion=12345", ListNotOlderThan, false, false},
		{"/api/v1/pods?resourceVersion=12345&resourceVersionMatch=NotOlderThan&limit=10", ListNotOlderThan, false, false},
		{"/api/v1/pods?resourceVersion=12345&limit=10", ListExact, false, false},
		{"/api/v1/pods?resourceVersion=12345&resourceVersionMatch=Exact", ListExact, false, false},
		{"/api/v1/pods?resourceVersion=0&resourceVersionMatch=NotOlderThan", ListAny, false, false},
		{"/api/v1/pods?limit=0", ListConsistent, false, false},
	}
	for _, tt := range tests {
		q := classifyList([]byte(tt.uri))
		if q.Class != tt.class || q.LabelSelector != tt.label || q.FieldSelector != tt.fld {
			t.Errorf("classifyList(%q) = %+v (%s), want %s label=%v field=%v", tt.uri, q, q.Class, tt.class, tt.label, tt.fld)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h, a, b histogram
	var vals []int64
	for i := range 100000 {
		v := int64(math.Exp(rng.NormFloat64()*1.5) * 5e6) // around 5 ms
		vals = append(vals, v)
		h.add(v)
		if i%2 == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	a.merge(&b)
	if a != h {
		t.Error("merged halves differ from the whole")
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.125 {
			t.Errorf("q%.3f = %d, exact %d (%.1f%% off)", q, got, exact, rel*100)
		}
	}
	if h.quantile(1) != vals[len(vals)-1] {
		t.Errorf("max = %d, want %d", h.quantile(1), vals[len(vals)-1])
	}
	for i := range histIndex(math.MaxInt64) {
		if histIndex(histUpper(i)) != i || histIndex(histUpper(i)+1) != i+1 {
			t.Fatalf("bucket %d bounds inconsistent", i)
		}
	}
}

// TestSweepMatchesBruteForce feeds intervals in end order with jitter, as an
// audit log delivers them, and compares peaks with a quadratic count.
func TestSweepMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var ivs []interval
	now := int64(1_700_000_000e9)
	for range 5000 {
		now += int64(rng.ExpFloat64() * 20e6)
		dur := int64(rng.ExpFloat64() * 300e6)
		if rng.IntN(50) == 0 {
			dur = int64(rng.IntN(50)) * 1e9
		}
		end := now - int64(rng.IntN(3))*1e9 // writer jitter
		ivs = append(ivs, interval{user: uint32(rng.IntN(4)), start: end - dur, end: end})
	}
	s := newSweep()
	for _, iv := range ivs {
		s.add(iv)
	}
	s.finish()
	if s.clipped != 0 {
		t.Fatalf("clipped = %d, want 0", s.clipped)
	}
	for u := range uint32(4) {
		// Brute force at every start (the peak is reached at a start) with
		// [start, end) semantics, at the sweep's 1 ms resolution.
		var want int32
		for _, a := range ivs {
			if a.user != u {
				continue
			}
			var n int32
			for _, b := range ivs {
				if b.user == u && b.start <= a.start && a.start < b.end {
					n++
				}
			}
			want = max(want, n)
		}
		if got := s.users[u].peak; got != want {
			t.Errorf("user %d: peak %d, brute force %d", u, got, want)
		}
	}
}

func TestSweepClipsOverlongRequests(t *testing.T) {
	s := newSweep()
	base := int64(1_700_000_000e9)
	s.add(interval{user: 0, start: base, end: base + 1e9})
	s.add(interval{user: 0, start: base + 2e9, end: base + 100e9})
	// A request of 199 s, longer than the window: its start is clipped to
	// the oldest open bin, where it still overlaps the previous request.
	s.add(interval{user: 0, start: base + 1e9, end: base + 200e9})
	s.finish()
	if s.clipped != 1 {
		t.Errorf("clipped = %d, want 1", s.clipped)
	}
	if s.users[0].peak != 2 {
		t.Errorf("peak = %d, want 2", s.users[0].peak)
	}
}

func TestPluralizeAndTarget(t *testing.T) {
	tests := map[string]Target{
		"namespace/team-a":                  {Resource: "namespaces", Namespace: "team-a", Name: "team-a"},
		"Namespace/team-a":                  {Resource: "namespaces", Namespace: "team-a", Name: "team-a"},
		"deployment/team-a/web":             {Resource: "deployments", Namespace: "team-a", Name: "web"},
		"deployments.apps/team-a/web":       {Resource: "deployments", Group: "apps", Namespace: "team-a", Name: "web"},
		"NetworkPolicy/ns/deny":             {Resource: "networkpolicies", Namespace: "ns", Name: "deny"},
		"ingress/ns/web":                    {Resource: "ingresses", Namespace: "ns", Name: "web"},
		"endpoints/ns/web":                  {Resource: "endpoints", Namespace: "ns", Name: "web"},
		"clusterrole/admin":                 {Resource: "clusterroles", Name: "admin"},
		"apiservice/v1beta1.metrics.k8s.io": {Resource: "apiservices", Name: "v1beta1.metrics.k8s.io"},
	}
	for in, want := range tests {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"team-a", "namespace/a/b", "a/b/c/d", "pod//x", ""} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) succeeded", bad)
		}
	}
}
