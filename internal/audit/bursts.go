package audit

import (
	"cmp"
	"slices"
	"time"
)

// Burst is a few minutes whose load stands far above the rest of a long
// log, with the minutes around it at one-minute resolution. The overview's
// steps grow with the span: over four days a step is eight minutes, and a
// 30-second LIST storm is one step, a spike a pixel wide (incident 004: the
// cascade came four days after the delete).
type Burst struct {
	// From and To bound the hot minutes: From is the first one's start,
	// To the last one's end.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// QuerySeconds and Requests are every user's, in the hot minutes.
	QuerySeconds float64 `json:"querySeconds"`
	Requests     int64   `json:"requests"`
	// Window is the burst and burstPadMinutes either side, one step a
	// minute, with the users that loaded the server most in it.
	Window Timeline `json:"window"`
}

const (
	// burstMinMinutes: shorter logs are drawn a minute a step or nearly,
	// and no burst is looked for.
	burstMinMinutes = 120
	// A minute is hot when its query time is burstFactor times the 99th
	// percentile minute's (the few slow requests of a quiet log are no
	// burst), at least a burstPeakShare of the busiest minute's, and at
	// least burstFloorSeconds.
	burstFactor       = 5
	burstPeakShare    = 1.0 / 50
	burstFloorSeconds = 1.0
	// Hot minutes at most burstMergeMinutes apart are one burst.
	burstMergeMinutes = 5
	burstPadMinutes   = 10
	maxBursts         = 6
	// maxBurstMinutes bounds the per-minute scan (two years of log).
	maxBurstMinutes = 1 << 20
)

// findBursts looks for bursts in the per-minute load of every user,
// between minute first and first+minutes-1, the largest maxBursts of them
// in time order.
func findBursts(p *partial, c *consumer, first, minutes int64) []Burst {
	if minutes < burstMinMinutes || minutes > maxBurstMinutes {
		return nil
	}
	total := make([]float64, minutes)
	requests := make([]int64, minutes)
	for _, u := range p.users {
		for m, cell := range u.timeline {
			if k := m - first; k >= 0 && k < minutes {
				total[k] += float64(cell.QueryNanos) / 1e9
				requests[k] += cell.Requests
			}
		}
	}
	sorted := slices.Clone(total)
	slices.Sort(sorted)
	hot := max(burstFactor*sorted[len(sorted)*99/100], burstPeakShare*sorted[len(sorted)-1], burstFloorSeconds)

	type run struct {
		from, to int64 // hot minutes, inclusive
		seconds  float64
		requests int64
	}
	var runs []run
	for k, v := range total {
		if v < hot {
			continue
		}
		m := int64(k)
		if n := len(runs); n > 0 && m-runs[n-1].to <= burstMergeMinutes {
			runs[n-1].to = m
		} else {
			runs = append(runs, run{from: m, to: m})
		}
		runs[len(runs)-1].seconds += v
		runs[len(runs)-1].requests += requests[k]
	}
	slices.SortStableFunc(runs, func(a, b run) int { return cmp.Compare(b.seconds, a.seconds) })
	runs = runs[:min(len(runs), maxBursts)]
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.from, b.from) })

	var out []Burst
	for _, r := range runs {
		from, to := max(r.from-burstPadMinutes, 0), min(r.to+burstPadMinutes, minutes-1)
		b := Burst{
			From:         time.Unix((first+r.from)*60, 0).UTC(),
			To:           time.Unix((first+r.to+1)*60, 0).UTC(),
			QuerySeconds: r.seconds,
			Requests:     r.requests,
			Window:       burstWindow(p, c, first+from, to-from+1),
		}
		out = append(out, b)
	}
	return out
}

// burstWindow is the timeline of the n minutes from minute start, for the
// users with the most query time in them.
func burstWindow(p *partial, c *consumer, start, n int64) Timeline {
	t := Timeline{Start: time.Unix(start*60, 0).UTC(), StepSeconds: 60, Steps: int(n)}
	type userSum struct {
		name    string
		u       *userAgg
		seconds float64
	}
	var sums []userSum
	for name, u := range p.users {
		var s float64
		for m := start; m < start+n; m++ {
			if cell, ok := u.timeline[m]; ok {
				s += float64(cell.QueryNanos) / 1e9
			}
		}
		if s > 0 {
			sums = append(sums, userSum{name, u, s})
		}
	}
	slices.SortFunc(sums, func(a, b userSum) int {
		if c := cmp.Compare(b.seconds, a.seconds); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for i, us := range sums {
		if i == timelineUsers {
			break
		}
		t.Series = append(t.Series, userSeries(us.name, us.u, c, start, 1, int(n)))
	}
	return t
}
