package measure

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Schema names the JSON report's format.
const Schema = "premortem/measure/v1"

// Report is one measured window.
type Report struct {
	Schema          string    `json:"schema"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	Seconds         float64   `json:"seconds"`
	IntervalSeconds float64   `json:"intervalSeconds"`
	// Command is what ran during the window (none: a --duration window).
	Command      []string       `json:"command,omitempty"`
	CommandError string         `json:"commandError,omitempty"`
	Servers      []ServerReport `json:"servers"`
	// Total sums the servers; its levels add the servers' samples taken in
	// the same interval.
	Total    Totals    `json:"total"`
	Headroom *Headroom `json:"headroom"`
	// NotRead names what could not be read; when it is not empty the
	// report is incomplete (exit 3).
	NotRead []string `json:"notRead,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// ServerReport is one API server over the window.
type ServerReport struct {
	Server string `json:"server"`
	Via    string `json:"via"`
	// MetricsRead: /metrics was read at both ends; the deltas below are
	// zero otherwise.
	MetricsRead bool         `json:"metricsRead"`
	Requests    []RequestRow `json:"requests"`
	// RequestsTotal and Throttled (429) count every request in the window.
	RequestsTotal int64   `json:"requestsTotal"`
	Throttled     int64   `json:"throttled"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	// ResponseBytes: bytes of response bodies (apiserver_response_sizes);
	// WatchEventBytes: bytes of watch events (apiserver_watch_events_sizes).
	// Their sum is the egress the API server chose to send, before TLS and
	// compression.
	ResponseBytes   float64            `json:"responseBytes"`
	WatchEventBytes float64            `json:"watchEventBytes"`
	EgressBytes     float64            `json:"egressBytes"`
	WatchersBefore  int64              `json:"watchersBefore"`
	WatchersAfter   int64              `json:"watchersAfter"`
	Watchers        map[string]int64   `json:"watchersByResource,omitempty"`
	ListBytesMean   map[string]float64 `json:"meanListBytesByResource,omitempty"`
	Rejected        []Rejection        `json:"apfRejections,omitempty"`
	Restarted       bool               `json:"restarted,omitempty"`
	// Samples of the priority levels.
	SamplesTaken  int       `json:"samplesTaken"`
	SamplesFailed int       `json:"samplesFailed"`
	SampleError   string    `json:"sampleError,omitempty"`
	Offsets       []float64 `json:"sampleOffsetsSeconds"`
	// Executing sums the levels but exempt, sample by sample.
	Executing Stats    `json:"executing"`
	Levels    []Level  `json:"levels"`
	NotRead   []string `json:"notRead,omitempty"`
}

// RequestRow is the requests of one verb and resource.
type RequestRow struct {
	Verb          string  `json:"verb"`
	Resource      string  `json:"resource"`
	Requests      int64   `json:"requests"`
	Throttled     int64   `json:"throttled"`
	ResponseBytes float64 `json:"responseBytes"`
}

// Rejection is APF rejections of one priority level for one reason.
type Rejection struct {
	PriorityLevel string `json:"priorityLevel"`
	Reason        string `json:"reason"`
	Count         int64  `json:"count"`
}

// Level is one priority level's samples.
type Level struct {
	Name string `json:"name"`
	// LimitSeats is the level's concurrency limit in seats at the end of
	// the window (apiserver_flowcontrol_current_limit_seats, which
	// borrowing moves); 0 when unknown or for exempt, which has none.
	LimitSeats float64 `json:"limitSeats"`
	// LimitSeatsStart is the limit at the start: the two differ when the
	// level borrowed or lent seats during the window.
	LimitSeatsStart float64 `json:"limitSeatsStart"`
	NominalSeats    float64 `json:"nominalSeats"`
	// Executing requests (each holds one seat or more) and waiting
	// requests, per sample.
	Executing Stats `json:"executing"`
	Waiting   Stats `json:"waiting"`
	// SecondsAtLimit: samples in which requests waited for a seat, or the
	// executing requests filled the limit, times the interval.
	SecondsAtLimit  float64 `json:"secondsAtLimit"`
	ExecutingSeries []int   `json:"executingSeries"`
	WaitingSeries   []int   `json:"waitingSeries"`
}

// Totals add up the servers.
type Totals struct {
	Requests        []RequestRow `json:"requests"`
	RequestsTotal   int64        `json:"requestsTotal"`
	Throttled       int64        `json:"throttled"`
	CPUSeconds      float64      `json:"cpuSeconds"`
	EgressBytes     float64      `json:"egressBytes"`
	ResponseBytes   float64      `json:"responseBytes"`
	WatchEventBytes float64      `json:"watchEventBytes"`
	WatchersAfter   int64        `json:"watchersAfter"`
	Executing       Stats        `json:"executing"`
	Levels          []Level      `json:"levels"`
}

// exempt is the priority level with no limit.
const exempt = "exempt"

// serverReport builds one server's report from its two scrapes (nil when
// not read) and its samples.
func serverReport(s Server, before, after *scrape, series *Series, interval time.Duration) ServerReport {
	r := ServerReport{Server: s.URL, Via: s.Via, Watchers: map[string]int64{}}
	if before != nil && after != nil {
		r.MetricsRead = true
		r.Restarted = before.start != 0 && after.start != before.start
		reqs := deltas(before.requests, after.requests)
		bytes := deltas(before.responseBytes, after.responseBytes)
		rows := map[requestKey]*RequestRow{}
		for k, v := range reqs {
			row := rowOf(rows, k.Verb, k.Resource)
			n := int64(math.Round(v))
			row.Requests += n
			r.RequestsTotal += n
			if k.Code == "429" {
				row.Throttled += n
				r.Throttled += n
			}
		}
		for k, v := range bytes {
			row := rowOf(rows, k.Verb, k.Resource)
			row.ResponseBytes += v
			r.ResponseBytes += v
		}
		for _, row := range rows {
			r.Requests = append(r.Requests, *row)
		}
		sortRows(r.Requests)
		r.CPUSeconds = delta(before.cpu, after.cpu)
		r.WatchEventBytes = delta(before.watchBytes, after.watchBytes)
		r.EgressBytes = r.ResponseBytes + r.WatchEventBytes
		r.WatchersBefore = int64(math.Round(sum(before.watchers)))
		r.WatchersAfter = int64(math.Round(sum(after.watchers)))
		for k, v := range after.watchers {
			if v > 0 {
				r.Watchers[k] = int64(math.Round(v))
			}
		}
		r.ListBytesMean = map[string]float64{}
		for k, n := range after.listCount {
			if n > 0 {
				r.ListBytesMean[k] = after.listBytes[k] / n
			}
		}
		for k, v := range deltas(before.rejected, after.rejected) {
			pl, reason, _ := strings.Cut(k, "/")
			r.Rejected = append(r.Rejected, Rejection{PriorityLevel: pl, Reason: reason, Count: int64(math.Round(v))})
		}
		slices.SortFunc(r.Rejected, func(a, b Rejection) int { return strings.Compare(a.PriorityLevel+a.Reason, b.PriorityLevel+b.Reason) })
	}
	var limits, startLimits, nominal map[string]float64
	if before != nil {
		limits, startLimits, nominal = before.limitSeats, before.limitSeats, before.nominalSeats
	}
	if after != nil {
		limits, nominal = after.limitSeats, after.nominalSeats
		if startLimits == nil {
			startLimits = limits
		}
	}
	if series != nil {
		r.SamplesTaken, r.SamplesFailed, r.Offsets = len(series.Offsets), series.Failed, series.Offsets
		if series.FirstError != nil {
			r.SampleError = series.FirstError.Error()
		}
		r.Levels = levels(series.Levels, startLimits, limits, nominal, interval)
		r.Executing = StatsOf(sumExecuting(series.Levels, len(series.Offsets)))
	}
	return r
}

// levels summarises each level's series. A sample is at the limit when
// requests waited, or when the executing requests reached the lower of the
// limits at the two ends (the limit in between is not known).
func levels(series map[string]*LevelSeries, startLimits, limits, nominal map[string]float64, interval time.Duration) []Level {
	var out []Level
	for _, name := range sortedKeys(series) {
		out = append(out, level(name, series[name], startLimits[name], limits[name], nominal[name], interval))
	}
	return out
}

// level summarises one level's series (see levels).
func level(name string, ls *LevelSeries, startLimit, limit, nominal float64, interval time.Duration) Level {
	l := Level{Name: name, NominalSeats: nominal, Executing: StatsOf(ls.Executing), Waiting: StatsOf(ls.Waiting),
		ExecutingSeries: ls.Executing, WaitingSeries: ls.Waiting}
	if name != exempt {
		l.LimitSeats, l.LimitSeatsStart = limit, startLimit
	}
	lower := lowerLimit(l)
	for i := range ls.Executing {
		if name != exempt && (ls.Waiting[i] > 0 || (lower > 0 && float64(ls.Executing[i]) >= lower)) {
			l.SecondsAtLimit += interval.Seconds()
		}
	}
	return l
}

// sumExecuting adds the executing requests of every level but exempt,
// sample by sample: the load the limits apply to.
func sumExecuting(series map[string]*LevelSeries, n int) []int {
	out := make([]int, n)
	for name, ls := range series {
		if name == exempt {
			continue
		}
		for i, v := range ls.Executing {
			out[i] += v
		}
	}
	return out
}

// rowOf is the row of verb and resource in rows, added when not there.
func rowOf(rows map[requestKey]*RequestRow, verb, resource string) *RequestRow {
	k := requestKey{Verb: verb, Resource: resource}
	row := rows[k]
	if row == nil {
		row = &RequestRow{Verb: verb, Resource: resource}
		rows[k] = row
	}
	return row
}

func sortRows(rows []RequestRow) {
	slices.SortFunc(rows, func(a, b RequestRow) int {
		if a.Requests != b.Requests {
			return int(b.Requests - a.Requests)
		}
		return strings.Compare(a.Verb+" "+a.Resource, b.Verb+" "+b.Resource)
	})
}

// totals adds the servers up. Samples are matched by interval: the k-th
// interval of every server adds into the k-th of the total.
func totals(servers []ServerReport, interval time.Duration) Totals {
	t := Totals{}
	rows := map[requestKey]*RequestRow{}
	type acc struct {
		exec, wait          map[int]int
		start, limit, nomin float64
	}
	lv := map[string]*acc{}
	all := map[int]int{}
	for _, s := range servers {
		for _, r := range s.Requests {
			row := rowOf(rows, r.Verb, r.Resource)
			row.Requests += r.Requests
			row.Throttled += r.Throttled
			row.ResponseBytes += r.ResponseBytes
		}
		t.RequestsTotal += s.RequestsTotal
		t.Throttled += s.Throttled
		t.CPUSeconds += s.CPUSeconds
		t.EgressBytes += s.EgressBytes
		t.ResponseBytes += s.ResponseBytes
		t.WatchEventBytes += s.WatchEventBytes
		t.WatchersAfter += s.WatchersAfter
		// One sample per server per interval: a late sample that falls in
		// the same interval as the one before replaces it.
		at := map[int]int{}
		for i, off := range s.Offsets {
			at[bucket(off, interval)] = i
		}
		for _, l := range s.Levels {
			a := lv[l.Name]
			if a == nil {
				a = &acc{exec: map[int]int{}, wait: map[int]int{}}
				lv[l.Name] = a
			}
			a.start += l.LimitSeatsStart
			a.limit += l.LimitSeats
			a.nomin += l.NominalSeats
			for k, i := range at {
				v := l.ExecutingSeries[i]
				a.exec[k] += v
				a.wait[k] += l.WaitingSeries[i]
				if l.Name != exempt {
					all[k] += v
				}
			}
		}
	}
	for _, row := range rows {
		t.Requests = append(t.Requests, *row)
	}
	sortRows(t.Requests)
	series := func(m map[int]int) []int {
		out := make([]int, 0, len(m))
		for _, k := range sortedKeys(m) {
			out = append(out, m[k])
		}
		return out
	}
	for _, name := range sortedKeys(lv) {
		a := lv[name]
		ls := &LevelSeries{Executing: series(a.exec), Waiting: series(a.wait)}
		t.Levels = append(t.Levels, level(name, ls, a.start, a.limit, a.nomin, interval))
	}
	t.Executing = StatsOf(series(all))
	return t
}

func bucket(offset float64, interval time.Duration) int {
	return int(math.Round(offset / interval.Seconds()))
}

// Incomplete reports that something could not be read.
func (r *Report) Incomplete() bool { return len(r.NotRead) > 0 }

// notRead lists what one server did not give.
func notRead(s ServerReport, metricsErr, dumpErr error, missing []string) []string {
	var out []string
	if metricsErr != nil {
		out = append(out, fmt.Sprintf("%s: /metrics not read: %s", s.Server, firstLine(metricsErr)))
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%s: /metrics has no %s", s.Server, strings.Join(missing, ", ")))
	}
	if dumpErr != nil {
		out = append(out, fmt.Sprintf("%s: %s not read: %s", s.Server, DumpPath, firstLine(dumpErr)))
	}
	return out
}
