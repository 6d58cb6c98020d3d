package audit

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Comparison is premortem audit --compare: the load of two periods (or two
// log sets) side by side, per identity and per verb and resource. In
// incident 004 the cluster's size had not changed and no upgrade had been
// made, yet one controller's upgrade had tripled the LISTs: the question
// is what changed in the load, and who changed it.
type Comparison struct {
	Before Period `json:"before"`
	After  Period `json:"after"`
	// PerHour is true when the two spans differ by more than 10%: ratios
	// then compare rates (per hour of log), not totals.
	PerHour bool `json:"perHour"`
	// Users and VerbResources: the largest changes in mean requests in
	// flight first (both directions), up to Top rows each.
	Users         []Change `json:"users"`
	VerbResources []Change `json:"verbResources"`
	// New identities (in after only), Gone (in before only), most load
	// first; GrewMost: identities in both whose mean requests in flight
	// grew most. Up to Top each; the counts are of all.
	New       []Change `json:"new"`
	NewCount  int      `json:"newCount"`
	Gone      []Change `json:"gone"`
	GoneCount int      `json:"goneCount"`
	GrewMost  []Change `json:"grewMost"`
}

// Period is one side of a comparison.
type Period struct {
	Inputs       []InputSummary `json:"inputs"`
	From         time.Time      `json:"from"`
	To           time.Time      `json:"to"`
	Seconds      float64        `json:"seconds"`
	Requests     int64          `json:"requests"`
	QuerySeconds float64        `json:"querySeconds"`
	Events       int64          `json:"events"`
	Malformed    int64          `json:"malformed"`
}

// Side is one key's load in one period.
type Side struct {
	Requests     int64   `json:"requests"`
	QuerySeconds float64 `json:"querySeconds"`
	PeakInFlight int     `json:"peakInFlight"`
	// MeanInFlight is query time over the period's span: the average
	// number of the key's requests in flight, its hold on the API server.
	MeanInFlight float64 `json:"meanInFlight"`
}

// Change is one key (a user, or a verb and resource) in both periods.
type Change struct {
	Name string `json:"name"`
	// Status is "new", "gone" or "" (in both).
	Status string `json:"status,omitempty"`
	Before Side   `json:"before"`
	After  Side   `json:"after"`
	// RequestsRatio and QueryTimeRatio are after over before (rates when
	// PerHour); 0 when the key is new or gone.
	RequestsRatio     float64 `json:"requestsRatio"`
	QueryTimeRatio    float64 `json:"queryTimeRatio"`
	PeakChange        int     `json:"peakInFlightChange"`
	MeanInFlightDelta float64 `json:"meanInFlightChange"`
}

// Compare analyzes before and after (each with its own options: times and
// filters) and compares them. The table sizes come from after's Top.
func Compare(ctx context.Context, before []Input, beforeOpts Options, after []Input, afterOpts Options) (*Comparison, error) {
	top := afterOpts.Top
	if top <= 0 {
		top = 20
	}
	run := func(name string, in []Input, o Options) (*Report, error) {
		// Every key is needed on both sides, not the top ones.
		o.Top = math.MaxInt32
		o.VerbResourceFlight = true
		o.Deleted = nil
		r, err := Analyze(ctx, in, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r, nil
	}
	b, err := run("before", before, beforeOpts)
	if err != nil {
		return nil, err
	}
	a, err := run("after", after, afterOpts)
	if err != nil {
		return nil, err
	}
	return CompareReports(b, a, top), nil
}

// CompareReports compares two reports made with every key (Options.Top at
// least the number of keys) and VerbResourceFlight.
func CompareReports(before, after *Report, top int) *Comparison {
	c := &Comparison{Before: period(before), After: period(after)}
	bs, as := max(c.Before.Seconds, 1), max(c.After.Seconds, 1)
	c.PerHour = math.Abs(as-bs) > 0.1*max(as, bs)
	scale := 1.0
	if c.PerHour {
		scale = bs / as
	}

	users := func(r *Report, span float64) map[string]Side {
		m := make(map[string]Side, len(r.Users))
		for _, u := range r.Users {
			m[u.Name] = Side{Requests: u.Requests, QuerySeconds: u.QuerySeconds, PeakInFlight: u.PeakInFlight, MeanInFlight: u.QuerySeconds / span}
		}
		return m
	}
	verbRes := func(r *Report, span float64) map[string]Side {
		m := make(map[string]Side, len(r.VerbResources))
		for _, l := range r.VerbResources {
			if l.Requests == 0 {
				continue // only long-running: no query time, no flight
			}
			m[l.Name] = Side{Requests: l.Requests, QuerySeconds: l.QuerySeconds, PeakInFlight: r.VerbResourcePeaks[l.Name], MeanInFlight: l.QuerySeconds / span}
		}
		return m
	}
	allUsers := changes(users(before, bs), users(after, as), scale)
	allVR := changes(verbRes(before, bs), verbRes(after, as), scale)

	for _, ch := range allUsers {
		switch ch.Status {
		case "new":
			c.New = append(c.New, ch)
		case "gone":
			c.Gone = append(c.Gone, ch)
		default:
			if ch.MeanInFlightDelta > 0 {
				c.GrewMost = append(c.GrewMost, ch)
			}
		}
	}
	c.NewCount, c.GoneCount = len(c.New), len(c.Gone)
	byLoad := func(side func(Change) Side) func(x, y Change) int {
		return func(x, y Change) int {
			if d := cmp.Compare(side(y).QuerySeconds, side(x).QuerySeconds); d != 0 {
				return d
			}
			if d := cmp.Compare(side(y).Requests, side(x).Requests); d != 0 {
				return d
			}
			return strings.Compare(x.Name, y.Name)
		}
	}
	slices.SortFunc(c.New, byLoad(func(ch Change) Side { return ch.After }))
	slices.SortFunc(c.Gone, byLoad(func(ch Change) Side { return ch.Before }))
	slices.SortFunc(c.GrewMost, func(x, y Change) int {
		if d := cmp.Compare(y.MeanInFlightDelta, x.MeanInFlightDelta); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	c.Users, c.VerbResources = firstN(allUsers, top), firstN(allVR, top)
	c.New, c.Gone, c.GrewMost = firstN(c.New, top), firstN(c.Gone, top), firstN(c.GrewMost, top)
	return c
}

func period(r *Report) Period {
	p := Period{Inputs: r.Inputs, From: r.From, To: r.To, Requests: r.Total.Requests, QuerySeconds: r.Total.QuerySeconds,
		Events: r.Events, Malformed: r.Malformed}
	if !r.From.IsZero() {
		p.Seconds = r.To.Sub(r.From).Seconds()
	}
	return p
}

// changes pairs the keys of both periods, largest change in mean requests
// in flight first. scale turns after's totals into before's span.
func changes(before, after map[string]Side, scale float64) []Change {
	out := make([]Change, 0, max(len(before), len(after)))
	for name, b := range before {
		ch := Change{Name: name, Before: b}
		if a, ok := after[name]; ok {
			ch.After = a
			ch.RequestsRatio = ratio(float64(a.Requests)*scale, float64(b.Requests))
			ch.QueryTimeRatio = ratio(a.QuerySeconds*scale, b.QuerySeconds)
		} else {
			ch.Status = "gone"
		}
		ch.PeakChange = ch.After.PeakInFlight - b.PeakInFlight
		ch.MeanInFlightDelta = ch.After.MeanInFlight - b.MeanInFlight
		out = append(out, ch)
	}
	for name, a := range after {
		if _, ok := before[name]; ok {
			continue
		}
		out = append(out, Change{Name: name, Status: "new", After: a, PeakChange: a.PeakInFlight, MeanInFlightDelta: a.MeanInFlight})
	}
	slices.SortFunc(out, func(x, y Change) int {
		if d := cmp.Compare(math.Abs(y.MeanInFlightDelta), math.Abs(x.MeanInFlightDelta)); d != 0 {
			return d
		}
		if d := cmp.Compare(absInt(y.After.Requests-y.Before.Requests), absInt(x.After.Requests-x.Before.Requests)); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func absInt(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func firstN(cs []Change, n int) []Change {
	if cs == nil {
		return []Change{}
	}
	if len(cs) > n {
		return cs[:n]
	}
	return cs
}
