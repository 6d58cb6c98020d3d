package measure

import (
	"cmp"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// The families measure reads from /metrics, once at each end of a window.
const (
	mRequests       = "apiserver_request_total"
	mCPU            = "process_cpu_seconds_total"
	mStart          = "process_start_time_seconds"
	mResponseBytes  = "apiserver_response_sizes_sum"
	mResponseCount  = "apiserver_response_sizes_count"
	mWatchBytes     = "apiserver_watch_events_sizes_sum"
	mWatchers       = "apiserver_registered_watchers" // removed in Kubernetes 1.30-ish; read when present
	mLongRunning    = "apiserver_longrunning_requests"
	mRejected       = "apiserver_flowcontrol_rejected_requests_total"
	mLimitSeats     = "apiserver_flowcontrol_current_limit_seats"
	mNominalSeats   = "apiserver_flowcontrol_nominal_limit_seats"
	mExecutingSeats = "apiserver_flowcontrol_current_executing_seats"
)

var wanted = map[string]bool{
	mRequests: true, mCPU: true, mStart: true, mResponseBytes: true, mResponseCount: true,
	mWatchBytes: true, mWatchers: true, mLongRunning: true, mRejected: true,
	mLimitSeats: true, mNominalSeats: true, mExecutingSeats: true,
}

// requestKey is one row of requests: verb, resource and HTTP code.
type requestKey struct {
	Verb, Resource, Code string
}

// scrape is what one read of /metrics gave, reduced to what measure uses.
type scrape struct {
	time          time.Time
	requests      map[requestKey]float64
	responseBytes map[requestKey]float64 // Code empty
	listCount     map[string]float64     // LIST responses by resource, since the server started
	listBytes     map[string]float64
	watchBytes    float64
	watchers      map[string]float64 // by resource
	rejected      map[string]float64 // "priority level/reason"
	limitSeats    map[string]float64
	nominalSeats  map[string]float64
	cpu, start    float64
	has           map[string]bool // families present
}

func readScrape(r io.Reader, maxBytes int64, at time.Time) (*scrape, error) {
	all, err := parseMetrics(r, maxBytes, func(name string) bool { return wanted[name] })
	if err != nil {
		return nil, err
	}
	s := &scrape{time: at, requests: map[requestKey]float64{}, responseBytes: map[requestKey]float64{},
		listCount: map[string]float64{}, listBytes: map[string]float64{}, watchers: map[string]float64{},
		rejected: map[string]float64{}, limitSeats: map[string]float64{}, nominalSeats: map[string]float64{},
		has: map[string]bool{}}
	legacyWatchers := map[string]float64{}
	for _, x := range all {
		s.has[x.name] = true
		l := x.labels
		switch x.name {
		case mRequests:
			s.requests[requestKey{l["verb"], resourceName(l), l["code"]}] += x.value
		case mResponseBytes:
			s.responseBytes[requestKey{Verb: l["verb"], Resource: resourceName(l)}] += x.value
			if l["verb"] == "LIST" {
				s.listBytes[resourceName(l)] += x.value
			}
		case mResponseCount:
			if l["verb"] == "LIST" {
				s.listCount[resourceName(l)] += x.value
			}
		case mWatchBytes:
			s.watchBytes += x.value
		case mWatchers:
			legacyWatchers[resourceName(l)] += x.value
		case mLongRunning:
			if l["verb"] == "WATCH" {
				s.watchers[resourceName(l)] += x.value
			}
		case mRejected:
			s.rejected[l["priority_level"]+"/"+l["reason"]] += x.value
		case mLimitSeats:
			s.limitSeats[l["priority_level"]] = x.value
		case mNominalSeats:
			s.nominalSeats[l["priority_level"]] = x.value
		case mCPU:
			s.cpu = x.value
		case mStart:
			s.start = x.value
		}
	}
	// Older servers count watchers in apiserver_registered_watchers; newer
	// ones only as long-running WATCH requests.
	if s.has[mWatchers] {
		s.watchers = legacyWatchers
	}
	return s, nil
}

// resourceName is "resource.group/subresource" as kubectl spells it, or the
// path of a request that names no resource ("/readyz").
func resourceName(l map[string]string) string {
	r := l["resource"]
	if r == "" {
		if sub := l["subresource"]; sub != "" {
			return "/" + strings.TrimPrefix(sub, "/")
		}
		return "/"
	}
	if g := l["group"]; g != "" {
		r += "." + g
	}
	if sub := l["subresource"]; sub != "" {
		r += "/" + sub
	}
	return r
}

// missing names the families a delta needs that the server did not expose.
func (s *scrape) missing() []string {
	var out []string
	for _, m := range []string{mRequests, mCPU, mResponseBytes} {
		if !s.has[m] {
			out = append(out, m)
		}
	}
	return out
}

// delta is after minus before for a counter; a counter that went down was
// reset (the server restarted) and counts from zero.
func delta(before, after float64) float64 {
	if after < before {
		return after
	}
	return after - before
}

func deltas[K comparable](before, after map[K]float64) map[K]float64 {
	out := map[K]float64{}
	for k, a := range after {
		if d := delta(before[k], a); d > 0 {
			out[k] = d
		}
	}
	return out
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

func sum[K comparable](m map[K]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}
