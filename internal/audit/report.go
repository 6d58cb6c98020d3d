package audit

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Report is the result of Analyze; its JSON form is premortem audit -o json.
type Report struct {
	Inputs            []InputSummary   `json:"inputs"`
	From              time.Time        `json:"from"`
	To                time.Time        `json:"to"`
	Lines             int64            `json:"lines"`
	Events            int64            `json:"events"`
	Stages            map[string]int64 `json:"stages"`
	Malformed         int64            `json:"malformed"`
	MalformedExamples []Malformed      `json:"malformedExamples,omitempty"`
	// Untimed: completed events without usable timestamps.
	Untimed int64 `json:"untimed"`
	// Filtered: completed events outside --since/--until or the filters.
	Filtered int64 `json:"filtered"`

	Total         Load       `json:"total"`
	Users         []UserLoad `json:"users"`
	UserAgents    []Load     `json:"userAgents"`
	VerbResources []Load     `json:"verbResources"`
	Lists         ListReport `json:"lists"`
	Timeline      Timeline   `json:"timeline"`
	// ClippedRequests: requests longer than the concurrency sweep's window,
	// whose start was clipped (peaks may be underestimated).
	ClippedRequests int64           `json:"clippedRequests"`
	Deletion        *DeletionReport `json:"deletion,omitempty"`
	// VerbResourcePeaks: the most requests of each verb and resource in
	// flight at once (Options.VerbResourceFlight).
	VerbResourcePeaks map[string]int `json:"verbResourcePeakInFlight,omitempty"`
	// Outside: identities calling from outside the cluster (Options.Outside).
	Outside *OutsideReport `json:"outside,omitempty"`
	// FanOut: identities whose LISTs run inside other identities' DELETEs,
	// as an admission webhook's backend's do (fanout.go).
	FanOut []FanOut `json:"fanOut,omitempty"`
}

// InputSummary says what was read from one input.
// With the logs of several API servers, Requests and QuerySeconds show how
// the load was spread between them (incident 000: two load-balancing paths
// sent clients to different sets of API servers).
type InputSummary struct {
	Name         string  `json:"name"`
	Lines        int64   `json:"lines"`
	Malformed    int64   `json:"malformed"`
	Requests     int64   `json:"requests"`
	QuerySeconds float64 `json:"querySeconds"`
	Truncated    string  `json:"truncated,omitempty"`
}

// Load is the API server work attributed to one key. Query time is summed
// over completed non-long-running requests (stageTimestamp of
// ResponseComplete minus requestReceivedTimestamp); long-running requests
// (watches, exec, logs, proxy) are counted apart.
type Load struct {
	Name               string  `json:"name"`
	Requests           int64   `json:"requests"`
	QuerySeconds       float64 `json:"querySeconds"`
	Share              float64 `json:"share"` // of all query time
	P50ms              float64 `json:"p50ms"`
	P99ms              float64 `json:"p99ms"`
	MaxMs              float64 `json:"maxMs"`
	LongRunning        int64   `json:"longRunning"`
	LongRunningSeconds float64 `json:"longRunningSeconds"`
	Throttled          int64   `json:"throttled429"`
	ServerErrors       int64   `json:"serverErrors5xx"`
	ClientErrors       int64   `json:"clientErrors4xx"`
}

// UserLoad adds concurrency and the user's programs.
type UserLoad struct {
	Load
	// PeakInFlight: most requests of this user in flight at once, from a
	// sweep over request intervals; MeanInFlight: query time over the
	// span of the log (the average number in flight).
	PeakInFlight int `json:"peakInFlight"`
	// Sources: distinct client addresses (first source IP of each request),
	// counted up to 4096.
	Sources      int        `json:"sources"`
	PeakAt       *time.Time `json:"peakAt,omitempty"`
	MeanInFlight float64    `json:"meanInFlight"`
	// ExpensiveLists: LISTs whose read semantics reach etcd on some
	// server versions (see lists).
	ExpensiveLists int64        `json:"expensiveLists"`
	UserAgents     []NamedLoad  `json:"userAgents"`
	ListsByClass   []ClassCount `json:"listsByClass,omitempty"`
}

// NamedLoad is a light load row.
type NamedLoad struct {
	Name         string  `json:"name"`
	Requests     int64   `json:"requests"`
	QuerySeconds float64 `json:"querySeconds"`
}

// ClassCount is the LISTs of one read class.
type ClassCount struct {
	Class        string  `json:"class"`
	Count        int64   `json:"count"`
	QuerySeconds float64 `json:"querySeconds"`
	Selector     int64   `json:"withSelector"`
	ClusterWide  int64   `json:"clusterWide"`
}

// ListReport classifies every LIST by read semantics.
type ListReport struct {
	Classes []ListClassInfo `json:"classes"`
	// Clients: users ranked by query time in expensive LIST kinds.
	Clients []ListClient `json:"clients"`
	Caveat  string       `json:"caveat"`
	Metrics []string     `json:"metrics"`
}

// ListClassInfo describes one class and its totals.
type ListClassInfo struct {
	ClassCount
	Served string `json:"served"`
}

// ListClient is one user's LISTs of the expensive kinds.
type ListClient struct {
	User         string       `json:"user"`
	UserAgent    string       `json:"userAgent"`
	Count        int64        `json:"count"`
	QuerySeconds float64      `json:"querySeconds"`
	Selector     int64        `json:"withSelector"`
	ClusterWide  int64        `json:"clusterWide"`
	PeakInFlight int          `json:"peakInFlight"`
	Classes      []ClassCount `json:"classes"`
}

// Timeline is the per-step load of the top users; Step is one minute unless
// the log spans more than maxTimelineSteps minutes.
type Timeline struct {
	Start       time.Time `json:"start"`
	StepSeconds int64     `json:"stepSeconds"`
	Steps       int       `json:"steps"`
	Series      []Series  `json:"series"`
	// Bursts are the minutes of a long log whose load stands far above
	// the rest, each at one-minute resolution (bursts.go).
	Bursts []Burst `json:"bursts,omitempty"`
}

// Series is one user's query seconds and peak requests in flight per step.
type Series struct {
	User         string    `json:"user"`
	QuerySeconds []float64 `json:"querySeconds"`
	PeakInFlight []int32   `json:"peakInFlight"`
}

const (
	maxTimelineSteps  = 720
	timelineUsers     = 8
	userAgentsPerUser = 3
)

var listServed = [numListClasses]string{
	ListConsistent:      "etcd before 1.31; watch cache from 1.31 (ConsistentListFromCache) when etcd supports progress notifications",
	ListConsistentPaged: "etcd before 1.31; watch cache from 1.31 (ConsistentListFromCache)",
	ListContinue:        "etcd before 1.34; cache snapshots from 1.34 (ListFromCacheSnapshot)",
	ListExact:           "etcd before 1.34; cache snapshots from 1.34 (ListFromCacheSnapshot)",
	ListAny:             "watch cache (may be slightly stale)",
	ListNotOlderThan:    "watch cache",
}

// ListCaveat and ListMetrics go with every LIST classification.
const ListCaveat = "Which LISTs reach etcd depends on the API server version and feature gates: before 1.31 every LIST " +
	"without resourceVersion is read from etcd and filtered by selectors in the API server (incident 004); from 1.31 " +
	"consistent reads are usually served from the watch cache after it catches up with etcd, and from 1.34 continue " +
	"and exact reads from cache snapshots. A selector does not make a read cheaper: everything is read, then filtered. " +
	"Confirm on the server with the metrics below."

var ListMetrics = []string{
	"apiserver_storage_list_total, apiserver_storage_list_fetched_objects_total, apiserver_storage_list_evaluated_objects_total, apiserver_storage_list_returned_objects_total (LISTs that reached etcd, by resource)",
	"apiserver_cache_list_total, apiserver_cache_list_fetched_objects_total, apiserver_cache_list_returned_objects_total (LISTs served from the watch cache)",
	"apiserver_watch_cache_consistent_read_total{success,fallback} (consistent reads from cache and their fallbacks to etcd, 1.31+)",
	"apiserver_watch_cache_read_wait_seconds (time consistent reads waited for the cache to catch up)",
	"apiserver_request_duration_seconds{verb=\"LIST\"}, apiserver_flowcontrol_request_wait_duration_seconds (latency and APF queueing)",
}

func toLoad(name string, s *stats, total int64) Load {
	l := Load{
		Name:               name,
		Requests:           s.Requests,
		QuerySeconds:       float64(s.QueryNanos) / 1e9,
		P50ms:              float64(s.hist.quantile(0.50)) / 1e6,
		P99ms:              float64(s.hist.quantile(0.99)) / 1e6,
		MaxMs:              float64(s.hist.max) / 1e6,
		LongRunning:        s.LongRunning,
		LongRunningSeconds: float64(s.LongRunningNanos) / 1e9,
		Throttled:          s.Throttled,
		ServerErrors:       s.ServerErrors,
		ClientErrors:       s.ClientErrors,
	}
	if total > 0 {
		l.Share = float64(s.QueryNanos) / float64(total)
	}
	return l
}

func rankLoads[S interface{ load() *stats }](m map[string]S, total int64, top int) []Load {
	out := make([]Load, 0, len(m))
	for k, s := range m {
		out = append(out, toLoad(k, s.load(), total))
	}
	sortLoads(out)
	if len(out) > top {
		out = out[:top]
	}
	return out
}

func sortLoads(ls []Load) {
	slices.SortFunc(ls, func(a, b Load) int {
		if c := cmp.Compare(b.QuerySeconds, a.QuerySeconds); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Requests+b.LongRunning, a.Requests+a.LongRunning); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func buildReport(p *partial, c *consumer, names []string, opts Options) *Report {
	r := &Report{
		Inputs:            c.inputs,
		Events:            p.events,
		Stages:            p.stageCounts(),
		Malformed:         c.nMalform,
		MalformedExamples: c.malformed,
		Untimed:           p.untimed,
		Filtered:          p.filtered,
		ClippedRequests:   c.sweep.clipped,
	}
	for _, in := range c.inputs {
		r.Lines += in.Lines
	}
	if p.minT != 0 {
		r.From, r.To = time.Unix(0, p.minT).UTC(), time.Unix(0, p.maxT).UTC()
	}
	span := p.maxT - p.minT
	totalQ := p.total.QueryNanos
	r.Total = toLoad("total", &p.total, totalQ)
	r.UserAgents = rankLoads(p.agents, totalQ, opts.Top)
	r.VerbResources = rankLoads(p.verbRes, totalQ, opts.Top)

	// Programs per user.
	agents := map[string][]NamedLoad{}
	for k, cl := range p.clients {
		user, ua, _ := strings.Cut(k, "\x00")
		agents[user] = append(agents[user], NamedLoad{Name: ua, Requests: cl.Requests, QuerySeconds: float64(cl.QueryNanos) / 1e9})
	}
	flight := func(u *userAgg) (int, *time.Time) {
		if int(u.id) >= len(c.sweep.users) {
			return 0, nil
		}
		f := &c.sweep.users[u.id]
		if f.peak == 0 {
			return 0, nil
		}
		at := time.Unix(0, f.peakAt).UTC()
		return int(f.peak), &at
	}
	users := make([]UserLoad, 0, len(p.users))
	for name, u := range p.users {
		ul := UserLoad{Load: toLoad(name, &u.stats, totalQ)}
		ul.PeakInFlight, ul.PeakAt = flight(u)
		ul.Sources = len(u.sources)
		if span > 0 {
			ul.MeanInFlight = float64(u.QueryNanos) / float64(span)
		}
		for cl := range numListClasses {
			ls := u.lists[cl]
			if cl.MayReadEtcd() {
				ul.ExpensiveLists += ls.Count
			}
			if ls.Count > 0 {
				ul.ListsByClass = append(ul.ListsByClass, classCount(cl, &ls))
			}
		}
		as := agents[name]
		slices.SortFunc(as, func(a, b NamedLoad) int {
			if c := cmp.Compare(b.QuerySeconds, a.QuerySeconds); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Requests, a.Requests); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		if len(as) > userAgentsPerUser {
			as = as[:userAgentsPerUser]
		}
		ul.UserAgents = as
		users = append(users, ul)
	}
	slices.SortFunc(users, func(a, b UserLoad) int {
		if c := cmp.Compare(b.QuerySeconds, a.QuerySeconds); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Requests, a.Requests); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	allUsers := users
	if len(users) > opts.Top {
		users = users[:opts.Top]
	}
	r.Users = users

	// LIST classes and the clients of the expensive kinds.
	for cl := range numListClasses {
		r.Lists.Classes = append(r.Lists.Classes, ListClassInfo{ClassCount: classCount(cl, &p.lists[cl]), Served: listServed[cl]})
	}
	for _, ul := range allUsers {
		u := p.users[ul.Name]
		lc := ListClient{User: ul.Name, PeakInFlight: ul.PeakInFlight}
		if len(ul.UserAgents) > 0 {
			lc.UserAgent = ul.UserAgents[0].Name
		}
		for cl := range numListClasses {
			ls := u.lists[cl]
			if !cl.MayReadEtcd() || ls.Count == 0 {
				continue
			}
			lc.Count += ls.Count
			lc.QuerySeconds += float64(ls.Nanos) / 1e9
			lc.Selector += ls.Selector
			lc.ClusterWide += ls.ClusterWide
			lc.Classes = append(lc.Classes, classCount(cl, &ls))
		}
		if lc.Count > 0 {
			r.Lists.Clients = append(r.Lists.Clients, lc)
		}
	}
	slices.SortFunc(r.Lists.Clients, func(a, b ListClient) int {
		if c := cmp.Compare(b.QuerySeconds, a.QuerySeconds); c != 0 {
			return c
		}
		return strings.Compare(a.User, b.User)
	})
	if len(r.Lists.Clients) > opts.Top {
		r.Lists.Clients = r.Lists.Clients[:opts.Top]
	}
	r.Lists.Caveat = ListCaveat
	r.Lists.Metrics = ListMetrics

	r.Timeline = buildTimeline(p, c, allUsers)
	return r
}

func classCount(cl ListClass, ls *listStats) ClassCount {
	return ClassCount{Class: cl.String(), Count: ls.Count, QuerySeconds: float64(ls.Nanos) / 1e9, Selector: ls.Selector, ClusterWide: ls.ClusterWide}
}

func buildTimeline(p *partial, c *consumer, ranked []UserLoad) Timeline {
	var t Timeline
	if p.minT == 0 {
		return t
	}
	first, last := p.minT/60e9, p.maxT/60e9
	minutes := last - first + 1
	step := int64(1)
	for minutes/step > maxTimelineSteps {
		step *= 2
	}
	t.Start = time.Unix(first*60, 0).UTC()
	t.StepSeconds = step * 60
	t.Steps = int((minutes + step - 1) / step)
	for i, ul := range ranked {
		if i == timelineUsers {
			break
		}
		t.Series = append(t.Series, userSeries(ul.Name, p.users[ul.Name], c, first, step, t.Steps))
	}
	t.Bursts = findBursts(p, c, first, minutes)
	return t
}

// userSeries is u's query seconds and peak requests in flight in steps
// of step minutes from minute first.
func userSeries(name string, u *userAgg, c *consumer, first, step int64, steps int) Series {
	s := Series{User: name, QuerySeconds: make([]float64, steps), PeakInFlight: make([]int32, steps)}
	for m, cell := range u.timeline {
		if k := (m - first) / step; k >= 0 && k < int64(steps) {
			s.QuerySeconds[k] += float64(cell.QueryNanos) / 1e9
		}
	}
	if int(u.id) < len(c.sweep.users) {
		for m, peak := range c.sweep.users[u.id].minutes {
			if k := (m - first) / step; k >= 0 && k < int64(steps) && peak > s.PeakInFlight[k] {
				s.PeakInFlight[k] = peak
			}
		}
	}
	return s
}
