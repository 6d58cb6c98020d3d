package audit

import (
	"bytes"
	"strings"
	"sync"
)

// stats accumulates the load one key (a user, a user agent, a verb and
// resource) put on the API server.
type stats struct {
	Requests   int64
	QueryNanos int64
	hist       histogram
	// Long-running requests (watches, exec, logs, proxy) are counted apart:
	// their duration is connection time, not server work.
	LongRunning      int64
	LongRunningNanos int64
	Throttled        int64 // 429
	ServerErrors     int64 // 5xx
	ClientErrors     int64 // other 4xx
}

func (s *stats) add(dur int64, code int, long bool) {
	if long {
		s.LongRunning++
		s.LongRunningNanos += dur
	} else {
		s.Requests++
		s.QueryNanos += dur
		s.hist.add(dur)
	}
	switch {
	case code == 429:
		s.Throttled++
	case code >= 500:
		s.ServerErrors++
	case code >= 400:
		s.ClientErrors++
	}
}

// load is the stats itself; verbResource has it too, so tables of either
// rank and merge alike.
func (s *stats) load() *stats { return s }

func (s *stats) merge(o *stats) {
	s.Requests += o.Requests
	s.QueryNanos += o.QueryNanos
	s.hist.merge(&o.hist)
	s.LongRunning += o.LongRunning
	s.LongRunningNanos += o.LongRunningNanos
	s.Throttled += o.Throttled
	s.ServerErrors += o.ServerErrors
	s.ClientErrors += o.ClientErrors
}

// minuteLoad is one cell of the per-minute timeline.
type minuteLoad struct {
	Requests   int64
	QueryNanos int64
}

// listStats counts the LISTs of one class made by one user.
type listStats struct {
	Count       int64
	Nanos       int64
	Selector    int64 // with a label or field selector: filtered after reading everything
	ClusterWide int64 // no namespace: every object of the resource
}

type userAgg struct {
	id uint32
	stats
	timeline map[int64]*minuteLoad
	// The last cell touched: events arrive in time order, so most lookups
	// hit it and skip the map.
	lastMinute int64
	lastCell   *minuteLoad
	lists      [numListClasses]listStats
	// Distinct client addresses (first source IP), up to maxSources: one
	// identity calling from hundreds of addresses is a per-node agent
	// (incident 000's collector).
	sources map[string]struct{}
	// lastSource is the address of the user's last event: most users
	// call from one address, and comparing skips the map.
	lastSource []byte
}

const maxSources = 4096

// clientLoad is the lighter record kept per (user, user agent) pair, so each
// user's table row can say which program it is.
type clientLoad struct {
	Requests   int64
	QueryNanos int64
	// This worker's aggregates for the pair's user and agent.
	user  *userAgg
	agent *stats
}

// partial is one worker's aggregate; partials merge by addition.
type partial struct {
	users   map[string]*userAgg
	agents  map[string]*stats
	verbRes map[string]*verbResource
	clients map[string]*clientLoad
	lists   [numListClasses]listStats

	total      stats
	lines      int64
	events     int64
	stages     map[string]*int64 // see countStage
	complete   int64             // ResponseComplete events, kept out of the map: the common case
	untimed    int64             // completed events without usable timestamps
	filtered   int64
	minT, maxT int64
	keyBuf     []byte
	registry   *registry
	outside    outsideAgg // Options.Outside
}

// verbResource is the load of one "verb resource" key, with the ids the
// concurrency sweep and the fan-out correlation know the key by: each
// worker asks their registries once per key, not once per event.
type verbResource struct {
	stats
	name   string
	flight uint32 // flight id plus one, 0 until asked
	fan    uint32 // fan-out key id plus one, 0 until asked
}

// flightID returns the key's verb and resource flight id plus one
// (interval.vr).
func (v *verbResource) flightID(reg *registry) uint32 {
	if v.flight == 0 {
		v.flight = reg.id(v.name) + 1
	}
	return v.flight
}

// fanID returns the key's id in the fan-out correlation's registry.
func (v *verbResource) fanID(reg *registry) uint32 {
	if v.fan == 0 {
		v.fan = reg.id(v.name) + 1
	}
	return v.fan - 1
}

// added is what partial.add learnt of an event that the concurrency sweep
// and the fan-out correlation use again.
type added struct {
	user uint32
	vr   *verbResource
	// list is the query of a LIST that is not long-running.
	list ListQuery
}

func newPartial(r *registry) *partial {
	return &partial{
		users:    map[string]*userAgg{},
		agents:   map[string]*stats{},
		verbRes:  map[string]*verbResource{},
		clients:  map[string]*clientLoad{},
		stages:   map[string]*int64{},
		registry: r,
	}
}

// registry hands out dense user ids shared by all workers, so the
// concurrency sweep can index per-user state by id. Workers ask it once per
// user they meet.
type registry struct {
	mu    sync.Mutex
	ids   map[string]uint32
	names []string
}

func newRegistry() *registry { return &registry{ids: map[string]uint32{}} }

func (r *registry) id(name string) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.ids[name]; ok {
		return id
	}
	id := uint32(len(r.names))
	r.ids[name] = id
	r.names = append(r.names, name)
	return id
}

// interner is one worker's cache of a registry's ids, so the worker takes
// the registry's lock once per key it meets, not once per event.
type interner struct{ ids map[string]uint32 }

func (in *interner) id(k []byte, reg *registry) uint32 {
	id, ok := in.ids[string(k)]
	if !ok {
		if in.ids == nil {
			in.ids = map[string]uint32{}
		}
		id = reg.id(string(k))
		in.ids[string(k)] = id
	}
	return id
}

func (r *registry) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// isLongRunning mirrors kube-apiserver's BasicLongRunningRequestCheck
// (verbs watch and proxy; subresources attach, exec, proxy, log, portforward).
func isLongRunning(verb, sub []byte) bool {
	switch string(verb) {
	case "watch", "proxy":
		return true
	}
	switch string(sub) {
	case "attach", "exec", "proxy", "log", "portforward":
		return true
	}
	return false
}

// add records one completed, timed event that passed the filters.
func (p *partial) add(ev *Event, long bool) added {
	dur := ev.StageTime - ev.Received
	if dur < 0 {
		dur = 0
	}
	p.total.add(dur, ev.Code, long)

	// One lookup of the (user, user agent) pair finds the user's and the
	// agent's aggregates too; the separate maps are only searched for a new pair.
	k := append(p.keyBuf[:0], ev.Username...)
	k = append(k, 0)
	k = append(k, ev.UserAgent...)
	c, ok := p.clients[string(k)]
	if !ok {
		u, ok := p.users[string(ev.Username)]
		if !ok {
			name := string(ev.Username)
			u = &userAgg{id: p.registry.id(name), timeline: map[int64]*minuteLoad{}, lastMinute: -1 << 62, sources: map[string]struct{}{}}
			p.users[name] = u
		}
		a, ok := p.agents[string(ev.UserAgent)]
		if !ok {
			a = &stats{}
			p.agents[string(ev.UserAgent)] = a
		}
		c = &clientLoad{user: u, agent: a}
		p.clients[string(k)] = c
	}
	u := c.user
	if ip := firstIP(ev.SourceIPs); len(ip) > 0 && string(ip) != string(u.lastSource) && len(u.sources) < maxSources {
		if _, ok := u.sources[string(ip)]; !ok {
			u.sources[string(ip)] = struct{}{}
		}
		u.lastSource = append(u.lastSource[:0], ip...)
	}
	if !long {
		c.Requests++
		c.QueryNanos += dur
	}
	u.stats.add(dur, ev.Code, long)
	if !long {
		m := ev.StageTime / 60e9
		if m != u.lastMinute {
			cell, ok := u.timeline[m]
			if !ok {
				cell = &minuteLoad{}
				u.timeline[m] = cell
			}
			u.lastMinute, u.lastCell = m, cell
		}
		u.lastCell.Requests++
		u.lastCell.QueryNanos += dur
	}
	c.agent.add(dur, ev.Code, long)

	k = append(k[:0], ev.Verb...)
	k = append(k, ' ')
	k = appendResource(k, ev)
	vr, ok := p.verbRes[string(k)]
	if !ok {
		vr = &verbResource{name: string(k)}
		p.verbRes[vr.name] = vr
	}
	p.keyBuf = k
	vr.add(dur, ev.Code, long)
	a := added{user: u.id, vr: vr}

	if !long && string(ev.Verb) == "list" {
		q := classifyList(ev.RequestURI)
		a.list = q
		for _, ls := range []*listStats{&u.lists[q.Class], &p.lists[q.Class]} {
			ls.Count++
			ls.Nanos += dur
			if q.LabelSelector || q.FieldSelector {
				ls.Selector++
			}
			if len(ev.Namespace) == 0 {
				ls.ClusterWide++
			}
		}
	}
	return a
}

// countStage counts an event of a stage other than ResponseComplete. The
// map holds pointers so that counting needs only a lookup, which does not
// convert stage to a string; m[string(b)]++ allocates the key every time.
func (p *partial) countStage(stage []byte) {
	if c := p.stages[string(stage)]; c != nil {
		*c++
		return
	}
	n := int64(1)
	p.stages[string(stage)] = &n
}

// stageCounts returns the events per stage.
func (p *partial) stageCounts() map[string]int64 {
	out := make(map[string]int64, len(p.stages)+1)
	for k, v := range p.stages {
		out[k] = *v
	}
	if p.complete > 0 {
		out["ResponseComplete"] += p.complete
	}
	return out
}

// appendResource writes "resource[.group][/subresource]", or the path of a
// non-resource request.
func appendResource(k []byte, ev *Event) []byte {
	if !ev.HasObjectRef || len(ev.Resource) == 0 {
		uri := ev.RequestURI
		if i := bytes.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		return append(k, uri...)
	}
	k = append(k, ev.Resource...)
	if len(ev.APIGroup) > 0 {
		k = append(k, '.')
		k = append(k, ev.APIGroup...)
	}
	if len(ev.Subresource) > 0 {
		k = append(k, '/')
		k = append(k, ev.Subresource...)
	}
	return k
}

func (p *partial) merge(o *partial) {
	for k, ou := range o.users {
		u, ok := p.users[k]
		if !ok {
			p.users[k] = ou
			continue
		}
		u.stats.merge(&ou.stats)
		for m, oc := range ou.timeline {
			if c, ok := u.timeline[m]; ok {
				c.Requests += oc.Requests
				c.QueryNanos += oc.QueryNanos
			} else {
				u.timeline[m] = oc
			}
		}
		for i := range u.lists {
			u.lists[i].merge(&ou.lists[i])
		}
		for ip := range ou.sources {
			if len(u.sources) >= maxSources {
				break
			}
			u.sources[ip] = struct{}{}
		}
	}
	mergeStats(p.agents, o.agents)
	mergeStats(p.verbRes, o.verbRes)
	for k, oc := range o.clients {
		if c, ok := p.clients[k]; ok {
			c.Requests += oc.Requests
			c.QueryNanos += oc.QueryNanos
		} else {
			p.clients[k] = oc
		}
	}
	for i := range p.lists {
		p.lists[i].merge(&o.lists[i])
	}
	p.total.merge(&o.total)
	p.lines += o.lines
	p.events += o.events
	for k, v := range o.stages {
		if c := p.stages[k]; c != nil {
			*c += *v
		} else {
			p.stages[k] = v
		}
	}
	p.complete += o.complete
	p.untimed += o.untimed
	p.filtered += o.filtered
	if o.minT != 0 && (p.minT == 0 || o.minT < p.minT) {
		p.minT = o.minT
	}
	if o.maxT > p.maxT {
		p.maxT = o.maxT
	}
	p.outside.merge(&o.outside)
}

func (l *listStats) merge(o *listStats) {
	l.Count += o.Count
	l.Nanos += o.Nanos
	l.Selector += o.Selector
	l.ClusterWide += o.ClusterWide
}

func mergeStats[S interface{ load() *stats }](dst, src map[string]S) {
	for k, o := range src {
		if s, ok := dst[k]; ok {
			s.load().merge(o.load())
		} else {
			dst[k] = o
		}
	}
}

// Filter selects events for load attribution. Each list matches when empty
// or when any entry matches; an entry ending in '*' matches by prefix.
type Filter struct {
	Users      []string
	UserAgents []string
	Verbs      []string
	Resources  []string // "pods", "deployments.apps", "pods/log"
	Namespaces []string
}

func (f *Filter) empty() bool {
	return len(f.Users)+len(f.UserAgents)+len(f.Verbs)+len(f.Resources)+len(f.Namespaces) == 0
}

func (f *Filter) match(ev *Event, scratch []byte) bool {
	if !matchAny(f.Users, ev.Username) || !matchAny(f.UserAgents, ev.UserAgent) ||
		!matchAny(f.Verbs, ev.Verb) || !matchAny(f.Namespaces, ev.Namespace) {
		return false
	}
	if len(f.Resources) > 0 {
		// Match either the bare resource or resource.group[/sub].
		if !matchAny(f.Resources, ev.Resource) && !matchAny(f.Resources, appendResource(scratch[:0], ev)) {
			return false
		}
	}
	return true
}

func matchAny(pats []string, v []byte) bool {
	if len(pats) == 0 {
		return true
	}
	for _, p := range pats {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if bytes.HasPrefix(v, []byte(prefix)) {
				return true
			}
		} else if string(v) == p {
			return true
		}
	}
	return false
}

// firstIP returns the first address of a raw sourceIPs array, unescaped
// (addresses hold no escapes).
func firstIP(raw []byte) []byte {
	i := bytes.IndexByte(raw, '"')
	if i < 0 {
		return nil
	}
	j := bytes.IndexByte(raw[i+1:], '"')
	if j < 0 {
		return nil
	}
	return raw[i+1 : i+1+j]
}
