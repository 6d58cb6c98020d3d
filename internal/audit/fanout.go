package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// Fan-out: the LISTs an identity makes while someone else's DELETE is in
// flight. An admission webhook is called between the DELETE's receipt and
// its completion, and the API server waits for its answer, so the LISTs a
// webhook backend makes for one deletion start after the DELETE was
// received and end before it completes (incident 004: a node-group
// webhook listed nodes by label, then all their pods, in parallel and
// without resourceVersion, on every node-group DELETE).

// FanOut is one identity's LISTs nested in the DELETEs of one kind.
type FanOut struct {
	// User is the identity making the LISTs (a webhook backend's
	// ServiceAccount, typically).
	User string `json:"user"`
	// Trigger is the deletion: "delete nodegroups.nodegroups.example.com".
	Trigger string `json:"trigger"`
	// Webhooks are those the DELETEs' audit annotations name: every
	// mutating webhook ("configuration/webhook"), and validating webhooks
	// that failed open or returned audit annotations. Validating webhooks
	// otherwise leave no trace in the event.
	Webhooks []string `json:"webhooks,omitempty"`
	// Deletes of the trigger in the log, and Bursts: those during which
	// User listed.
	Deletes int64 `json:"deletes"`
	Bursts  int64 `json:"bursts"`
	// Lists are User's LISTs inside those DELETEs; FanOutFactor is Lists
	// per burst, MaxBurst the most in one.
	Lists        int64   `json:"lists"`
	FanOutFactor float64 `json:"fanOutFactor"`
	MaxBurst     int64   `json:"maxBurst"`
	// PeakInFlight is the most LISTs of one burst in flight at once.
	PeakInFlight int `json:"peakInFlight"`
	// MayReadEtcd: LISTs of a class that may read etcd (no
	// resourceVersion, continue, exact).
	MayReadEtcd  int64   `json:"mayReadEtcd"`
	QuerySeconds float64 `json:"querySeconds"`
	// UserLists is every LIST of User in the log: Lists/UserLists is how
	// much of what it lists follows a deletion.
	UserLists int64 `json:"userLists"`
	// Listed are the resources listed in the bursts, most first.
	Listed []NamedCount `json:"listed"`
	// Deleters are the identities whose DELETEs set the bursts off.
	Deleters []NamedCount `json:"deleters"`
	// Largest is when the largest burst's DELETE was received.
	Largest time.Time `json:"largest"`
}

// Correlation bounds.
const (
	fanBucket = int64(100e6) // LISTs are kept by start time in 100 ms buckets
	// fanKeep is how far back a DELETE may start and still find its LISTs:
	// the API server's 60 s request timeout, webhook timeouts (at most
	// 30 s), slow writers.
	fanKeep = int64(150e9)
	// fanSlack is how long after a DELETE's end its LISTs may still arrive:
	// audit events are written at completion, out of order by a few seconds.
	fanSlack = int64(5e9)
	// fanMaxLists bounds the LISTs kept for matching; beyond it the oldest
	// are dropped and counted.
	fanMaxLists = 1 << 21
)

// fanEvent is a completed LIST or DELETE, as the correlator needs it.
type fanEvent struct {
	start, end int64
	user       uint32
	key        uint32 // fan key id: the listed resource, or the deletion and its webhooks
	del, etcd  bool
}

// fanWorker makes fanEvents in one parse worker. A LIST's or a plain
// DELETE's key is its verb and resource, whose id partial.add's entry
// keeps; a DELETE that names webhooks is interned here, through the same
// registry.
type fanWorker struct {
	ids interner
	buf []byte
}

// event returns ev as a fanEvent when it is a LIST or a DELETE; a is what
// partial.add returned for it.
func (w *fanWorker) event(ev *Event, a added, reg *registry) (fanEvent, bool) {
	v := string(ev.Verb)
	del := v == "delete" || v == "deletecollection"
	if !del && v != "list" {
		return fanEvent{}, false
	}
	e := fanEvent{start: ev.Received, end: ev.StageTime, user: a.user, del: del}
	if !del {
		e.key, e.etcd = a.vr.fanID(reg), a.list.Class.MayReadEtcd()
		return e, true
	}
	hooks := webhooksOf(ev.Annotations)
	if len(hooks) == 0 {
		e.key = a.vr.fanID(reg)
		return e, true
	}
	k := append(w.buf[:0], a.vr.name...)
	k = append(k, 0)
	k = append(k, strings.Join(hooks, ",")...)
	w.buf = k
	e.key = w.ids.id(k, reg)
	return e, true
}

// Annotation keys the admission webhooks write (k8s.io/apiserver
// pkg/admission/plugin/webhook): every mutating webhook called, validating
// and mutating webhooks that failed open.
const (
	mutationAnnotation         = "mutation.webhook.admission.k8s.io/"
	failedOpenValidationPrefix = "failed-open.validating.webhook.admission.k8s.io/"
	failedOpenMutationPrefix   = "failed-open.mutation.webhook.admission.k8s.io/"
)

// webhooksOf returns the webhooks an event's annotations name, sorted:
// "configuration/webhook" for mutating ones, the webhook's name for those
// that failed open or returned audit annotations ("<webhook>/<key>", a
// webhook name being a dotted DNS name outside k8s.io and kubernetes.io).
// It walks the object with the scanner's own primitives: every DELETE has
// annotations (the authorizer's), few name a webhook, and encoding/json on
// each cost a fifth of the analysis' throughput.
func webhooksOf(raw []byte) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipWS(raw, i)
		if i >= len(raw) || raw[i] != '"' {
			break
		}
		end, esc, err := scanString(raw, i+1)
		if err != nil {
			break
		}
		key := raw[i+1 : end]
		if esc {
			key = unescape(nil, key)
		}
		i = skipWS(raw, end+1)
		if i >= len(raw) || raw[i] != ':' {
			break
		}
		i = skipWS(raw, i+1)
		if i >= len(raw) {
			break
		}
		vstart := i
		if i, err = skipValue(raw, i); err != nil {
			break
		}
		if name, _, ok := bytes.Cut(key, []byte("/")); ok && !bytes.HasPrefix(key, []byte("authorization.k8s.io/")) {
			value := func() []byte {
				v := raw[vstart:i]
				if len(v) < 2 || v[0] != '"' {
					return nil
				}
				return unescape(nil, v[1:len(v)-1])
			}
			switch k := string(key); {
			case strings.HasPrefix(k, mutationAnnotation):
				var m struct{ Configuration, Webhook string }
				if json.Unmarshal(value(), &m) == nil && m.Webhook != "" {
					add(m.Configuration + "/" + m.Webhook)
				}
			case strings.HasPrefix(k, failedOpenValidationPrefix), strings.HasPrefix(k, failedOpenMutationPrefix):
				add(string(value()) + " (failed open)")
			case bytes.Contains(name, []byte(".")) && !bytes.HasSuffix(name, []byte("k8s.io")) && !bytes.HasSuffix(name, []byte("kubernetes.io")):
				add(string(name))
			}
		}
		i = skipWS(raw, i)
		if i >= len(raw) || raw[i] != ',' {
			break
		}
		i++
	}
	slices.Sort(out)
	return out
}

// fanAgg accumulates one (listing user, deletion key) pair.
type fanAgg struct {
	bursts, lists, maxBurst, etcd int64
	nanos                         int64
	peak                          int
	listed, deleters              map[uint32]int64
	largestAt                     int64
}

type fanPair struct{ user, key uint32 }

// fanCorrelator matches DELETEs with the LISTs nested in them. It is fed
// in end-time order (the merge's), keeps LISTs of the last fanKeep in a
// ring of start-time buckets, and matches a DELETE once no LIST that ends
// before it can still arrive. Memory is bounded by the LIST rate times
// fanKeep (and fanMaxLists), not by the length of the log.
type fanCorrelator struct {
	ring      [][]fanEvent
	lo        int64 // lowest bucket number the ring holds
	kept      int
	dropped   int64
	pending   []fanEvent
	due       int64 // the earliest end among pending
	watermark int64
	started   bool

	userLists []int64          // LISTs per user id
	deletes   map[uint32]int64 // DELETEs per key
	pairs     map[fanPair]*fanAgg
	burst     map[uint32][]fanEvent // scratch: one DELETE's LISTs by user
}

func newFanCorrelator() *fanCorrelator {
	return &fanCorrelator{ring: make([][]fanEvent, (fanKeep+30e9)/fanBucket), deletes: map[uint32]int64{},
		pairs: map[fanPair]*fanAgg{}, burst: map[uint32][]fanEvent{}}
}

// add takes one chunk's events.
func (c *fanCorrelator) add(evs []fanEvent) {
	for _, e := range evs {
		if e.del {
			c.deletes[e.key]++
			if len(c.pending) == 0 || e.end < c.due {
				c.due = e.end
			}
			c.pending = append(c.pending, e)
			continue
		}
		for int(e.user) >= len(c.userLists) {
			c.userLists = append(c.userLists, 0)
		}
		c.userLists[e.user]++
		b := e.start / fanBucket
		if !c.started {
			c.started, c.lo = true, b-int64(len(c.ring))/2
		}
		if b < c.lo {
			c.dropped++ // started before anything a pending DELETE can hold
			continue
		}
		if b >= c.lo+int64(len(c.ring)) {
			c.clear(b - int64(len(c.ring)) + 1)
		}
		if c.kept >= fanMaxLists {
			c.dropped++
			continue
		}
		i := b % int64(len(c.ring))
		c.ring[i] = append(c.ring[i], e)
		c.kept++
	}
}

// clear drops the buckets before bucket number lo.
func (c *fanCorrelator) clear(lo int64) {
	for b := c.lo; b < lo && b < c.lo+int64(len(c.ring)); b++ {
		i := b % int64(len(c.ring))
		c.kept -= len(c.ring[i])
		c.ring[i] = c.ring[i][:0]
	}
	if lo > c.lo {
		c.lo = lo
	}
}

// advance says that every event ending before t has been added. It runs
// once per batch the merge feeds, so it does nothing until a DELETE is due
// or a bucket falls out of the window.
func (c *fanCorrelator) advance(t int64) {
	if t <= c.watermark {
		return
	}
	c.watermark = t
	if len(c.pending) > 0 && c.due+fanSlack <= t {
		rest := c.pending[:0]
		c.due = math.MaxInt64
		for _, d := range c.pending {
			if d.end+fanSlack <= t {
				c.match(d)
			} else {
				rest = append(rest, d)
				c.due = min(c.due, d.end)
			}
		}
		c.pending = rest
	}
	if !c.started || (t-fanKeep)/fanBucket <= c.lo {
		return
	}
	oldest := t - fanKeep
	for _, d := range c.pending {
		oldest = min(oldest, d.start)
	}
	c.clear(oldest / fanBucket)
}

// finish matches the DELETEs still pending.
func (c *fanCorrelator) finish() {
	for _, d := range c.pending {
		c.match(d)
	}
	c.pending = nil
}

// match finds the LISTs of other identities nested in DELETE d.
func (c *fanCorrelator) match(d fanEvent) {
	if !c.started || d.end < d.start {
		return
	}
	clear(c.burst)
	first, last := max(d.start/fanBucket, c.lo), min(d.end/fanBucket, c.lo+int64(len(c.ring))-1)
	for b := first; b <= last; b++ {
		for _, l := range c.ring[b%int64(len(c.ring))] {
			if l.user != d.user && l.start >= d.start && l.end <= d.end {
				c.burst[l.user] = append(c.burst[l.user], l)
			}
		}
	}
	for user, ls := range c.burst {
		pk := fanPair{user: user, key: d.key}
		a := c.pairs[pk]
		if a == nil {
			a = &fanAgg{listed: map[uint32]int64{}, deleters: map[uint32]int64{}}
			c.pairs[pk] = a
		}
		a.bursts++
		n := int64(len(ls))
		a.lists += n
		if n > a.maxBurst {
			a.maxBurst, a.largestAt = n, d.start
		}
		for _, l := range ls {
			a.nanos += l.end - l.start
			a.listed[l.key]++
			if l.etcd {
				a.etcd++
			}
		}
		a.deleters[d.user]++
		a.peak = max(a.peak, peakOf(ls))
	}
}

// peakOf is the most of ls in flight at once.
func peakOf(ls []fanEvent) int {
	type pt struct {
		t     int64
		delta int
	}
	pts := make([]pt, 0, 2*len(ls))
	for _, l := range ls {
		pts = append(pts, pt{l.start, 1}, pt{l.end, -1})
	}
	slices.SortFunc(pts, func(a, b pt) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.delta, b.delta)) })
	n, peak := 0, 0
	for _, p := range pts {
		n += p.delta
		peak = max(peak, n)
	}
	return peak
}

// Reporting rule: an identity whose LISTs follow deletions of a kind at
// least twice, and at least half of whose LISTs follow deletions, is fanning
// out; one that happened to list during someone's DELETE is not.
const (
	fanMinBursts = 2
	fanMinShare  = 0.5
)

// report ranks the pairs by the LIST query time they cost.
func (c *fanCorrelator) report(users, keys []string, top int) []FanOut {
	name := func(names []string, id uint32) string {
		if int(id) < len(names) {
			return names[id]
		}
		return ""
	}
	counts := func(m map[uint32]int64, names []string, strip string) []NamedCount {
		var out []NamedCount
		for id, n := range m {
			out = append(out, NamedCount{Name: strings.TrimPrefix(name(names, id), strip), Requests: n})
		}
		slices.SortFunc(out, byRequests)
		return out
	}
	nested := map[uint32]int64{} // per user, over every kind of deletion
	for pk, a := range c.pairs {
		nested[pk.user] += a.lists
	}
	var out []FanOut
	for pk, a := range c.pairs {
		var all int64
		if int(pk.user) < len(c.userLists) {
			all = c.userLists[pk.user]
		}
		if a.bursts < fanMinBursts || all == 0 || float64(nested[pk.user]) < fanMinShare*float64(all) {
			continue
		}
		trigger, hooks, _ := strings.Cut(name(keys, pk.key), "\x00")
		f := FanOut{User: name(users, pk.user), Trigger: trigger, Deletes: c.deletes[pk.key], Bursts: a.bursts, Lists: a.lists,
			FanOutFactor: float64(a.lists) / float64(a.bursts), MaxBurst: a.maxBurst, PeakInFlight: a.peak, MayReadEtcd: a.etcd,
			QuerySeconds: float64(a.nanos) / 1e9, UserLists: all, Listed: counts(a.listed, keys, "list "),
			Deleters: counts(a.deleters, users, ""), Largest: time.Unix(0, a.largestAt).UTC()}
		if hooks != "" {
			f.Webhooks = strings.Split(hooks, ",")
		}
		out = append(out, f)
	}
	// Deletions of one kind seen with and without webhook annotations are
	// separate keys; the ranking keeps them apart rather than guess.
	slices.SortFunc(out, func(a, b FanOut) int {
		return cmp.Or(cmp.Compare(b.QuerySeconds, a.QuerySeconds), strings.Compare(a.User, b.User), strings.Compare(a.Trigger, b.Trigger),
			strings.Compare(strings.Join(a.Webhooks, ","), strings.Join(b.Webhooks, ",")))
	})
	return out[:min(len(out), top)]
}
