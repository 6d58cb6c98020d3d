package audit

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// OutsideOptions say which client addresses are the cluster's own, for
// premortem refs --audit: the identities that reach the API server from
// anywhere else are the clients an address change breaks and that no
// search of the cluster finds (incident 002's checker ran on a VM).
type OutsideOptions struct {
	// Classify names what a client address is ("node", "pod",
	// "loopback", ...) or returns "" when it is outside the cluster. It is
	// called from several goroutines, about once per distinct address per
	// worker.
	Classify func(netip.Addr) string
	// MaxIdentities bounds the identities kept (default 10,000); the
	// requests of the others are counted in OutsideReport.DroppedRequests.
	MaxIdentities int
}

// Address classes that are not a Classify answer.
const (
	ClassOutside    = "outside"
	ClassNoAddress  = "no address"
	ClassUnparsable = "not an address"
)

// Bounds of one identity's record and of the address cache.
const (
	defaultMaxIdentities   = 10000
	maxOutsideSources      = 32
	maxOutsideUserAgents   = 8
	maxClassCacheAddresses = 1 << 16
)

// OutsideReport is every identity seen calling from outside the cluster.
type OutsideReport struct {
	// Requests counts completed requests by the class of their client
	// address (the first source IP): node, pod, loopback, outside, ...
	Requests   map[string]int64  `json:"requests"`
	Identities []OutsideIdentity `json:"identities"`
	// DroppedRequests are outside requests of identities past
	// MaxIdentities: not kept, so not listed.
	DroppedRequests int64 `json:"droppedRequests"`
	MaxIdentities   int   `json:"maxIdentities"`
}

// OutsideIdentity is one identity's requests from outside addresses.
type OutsideIdentity struct {
	User     string    `json:"user"`
	Requests int64     `json:"requests"`
	First    time.Time `json:"firstSeen"`
	Last     time.Time `json:"lastSeen"`
	// UserAgents and Sources (client addresses), most requests first, up
	// to 8 and 32; the requests of the others are in Other*.
	UserAgents      []NamedCount `json:"userAgents"`
	Sources         []NamedCount `json:"sources"`
	OtherUserAgents int64        `json:"otherUserAgentRequests,omitempty"`
	OtherSources    int64        `json:"otherSourceRequests,omitempty"`
}

// NamedCount is a value and the requests that had it.
type NamedCount struct {
	Name     string `json:"name"`
	Requests int64  `json:"requests"`
}

// outsideAgg is one worker's part of the OutsideReport.
type outsideAgg struct {
	classes  map[string]string // client address -> class, a per-worker cache
	requests map[string]int64
	ids      map[string]*outsideID
	dropped  int64
}

type outsideID struct {
	requests    int64
	first, last int64
	agents      map[string]int64
	sources     map[string]int64
	otherAgents int64
	otherSrc    int64
}

func (a *outsideAgg) add(ev *Event, o *OutsideOptions) {
	if a.requests == nil {
		a.requests, a.classes, a.ids = map[string]int64{}, map[string]string{}, map[string]*outsideID{}
	}
	ip := firstIP(ev.SourceIPs)
	class, ok := a.classes[string(ip)]
	if !ok {
		class = classify(string(ip), o)
		if len(a.classes) < maxClassCacheAddresses {
			a.classes[string(ip)] = class
		}
	}
	a.requests[class]++
	if class != ClassOutside {
		return
	}
	id, ok := a.ids[string(ev.Username)]
	if !ok {
		if len(a.ids) >= o.maxIdentities() {
			a.dropped++
			return
		}
		id = &outsideID{agents: map[string]int64{}, sources: map[string]int64{}}
		a.ids[string(ev.Username)] = id
	}
	first := ev.Received
	if first == 0 || first > ev.StageTime {
		first = ev.StageTime
	}
	if id.requests == 0 || first < id.first {
		id.first = first
	}
	id.last = max(id.last, ev.StageTime)
	id.requests++
	id.otherAgents += countInto(id.agents, string(ev.UserAgent), 1, maxOutsideUserAgents)
	id.otherSrc += countInto(id.sources, string(ip), 1, maxOutsideSources)
}

// countInto adds n to m[k] unless m is full without k; it returns what it
// could not add.
func countInto(m map[string]int64, k string, n int64, limit int) int64 {
	if _, ok := m[k]; !ok && len(m) >= limit {
		return n
	}
	m[k] += n
	return 0
}

func classify(ip string, o *OutsideOptions) string {
	if ip == "" {
		return ClassNoAddress
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ClassUnparsable
	}
	if c := o.Classify(addr.Unmap()); c != "" {
		return c
	}
	return ClassOutside
}

func (o *OutsideOptions) maxIdentities() int {
	if o.MaxIdentities > 0 {
		return o.MaxIdentities
	}
	return defaultMaxIdentities
}

func (a *outsideAgg) merge(b *outsideAgg) {
	if b.requests == nil {
		return
	}
	if a.requests == nil {
		*a = *b
		return
	}
	for k, n := range b.requests {
		a.requests[k] += n
	}
	a.dropped += b.dropped
	for user, bi := range b.ids {
		ai, ok := a.ids[user]
		if !ok {
			// Workers keep up to the maximum each: the merge keeps no more.
			a.ids[user] = bi
			continue
		}
		if bi.first < ai.first {
			ai.first = bi.first
		}
		ai.last = max(ai.last, bi.last)
		ai.requests += bi.requests
		ai.otherAgents += bi.otherAgents
		ai.otherSrc += bi.otherSrc
		for k, n := range bi.agents {
			ai.otherAgents += countInto(ai.agents, k, n, maxOutsideUserAgents)
		}
		for k, n := range bi.sources {
			ai.otherSrc += countInto(ai.sources, k, n, maxOutsideSources)
		}
	}
}

func (a *outsideAgg) report(o *OutsideOptions) *OutsideReport {
	r := &OutsideReport{Requests: map[string]int64{}, Identities: []OutsideIdentity{}, DroppedRequests: a.dropped, MaxIdentities: o.maxIdentities()}
	for k, n := range a.requests {
		r.Requests[k] = n
	}
	for user, id := range a.ids {
		r.Identities = append(r.Identities, OutsideIdentity{User: user, Requests: id.requests,
			First: time.Unix(0, id.first).UTC(), Last: time.Unix(0, id.last).UTC(),
			UserAgents: rankCounts(id.agents), Sources: rankCounts(id.sources),
			OtherUserAgents: id.otherAgents, OtherSources: id.otherSrc})
	}
	slices.SortFunc(r.Identities, func(x, y OutsideIdentity) int {
		if c := cmp.Compare(y.Requests, x.Requests); c != 0 {
			return c
		}
		return strings.Compare(x.User, y.User)
	})
	// Past the maximum, the merge of several workers' identities is cut
	// here, deterministically, and what it cut counted.
	if max := o.maxIdentities(); len(r.Identities) > max {
		for _, id := range r.Identities[max:] {
			r.DroppedRequests += id.Requests
		}
		r.Identities = r.Identities[:max]
	}
	return r
}

func rankCounts(m map[string]int64) []NamedCount {
	out := make([]NamedCount, 0, len(m))
	for k, n := range m {
		out = append(out, NamedCount{Name: k, Requests: n})
	}
	slices.SortFunc(out, byRequests)
	return out
}

// byRequests orders NamedCounts most requests first, then by name.
func byRequests(x, y NamedCount) int {
	return cmp.Or(cmp.Compare(y.Requests, x.Requests), strings.Compare(x.Name, y.Name))
}
