package measure

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Headroom is the N-1 estimate: could the other API servers absorb the
// heaviest one's load if it went away? Its watchers would re-establish on
// them, its clients would re-list, and its requests would spread over
// them. It is an estimate from one window's figures, not a test.
type Headroom struct {
	Estimate bool `json:"estimate"`
	// Verdict: "fits", "does not fit" or "cannot say".
	Verdict  string `json:"verdict"`
	Summary  string `json:"summary"`
	Heaviest string `json:"heaviest,omitempty"`
	// Remaining are the figures of each server left, now and after.
	Remaining   []HeadroomFigure `json:"remaining,omitempty"`
	Assumptions []string         `json:"assumptions"`
}

// HeadroomFigure is one remaining server, as measured and as estimated
// with its share of the heaviest server's load.
type HeadroomFigure struct {
	Server                    string  `json:"server"`
	Watchers                  int64   `json:"watchers"`
	WatchersAfter             int64   `json:"watchersAfter"`
	RequestsPerSecond         float64 `json:"requestsPerSecond"`
	RequestsPerSecondAfter    float64 `json:"requestsPerSecondAfter"`
	CPUCores                  float64 `json:"cpuCores"`
	CPUCoresAfter             float64 `json:"cpuCoresAfter"`
	EgressBytesPerSecond      float64 `json:"egressBytesPerSecond"`
	EgressBytesPerSecondAfter float64 `json:"egressBytesPerSecondAfter"`
	// Relists: LIST requests its share of the heaviest server's watchers
	// would send when they re-establish, and their bytes (by the mean LIST
	// size of each resource since the server started; 0 when unknown).
	Relists     int64   `json:"relists"`
	RelistBytes float64 `json:"relistBytes"`
	// Levels over their limit at the estimated peak.
	Over []LevelOver `json:"over,omitempty"`
}

// LevelOver is a priority level whose estimated peak exceeds its limit.
type LevelOver struct {
	Level         string  `json:"level"`
	PeakExecuting int     `json:"peakExecuting"`
	PeakAfter     float64 `json:"peakAfter"`
	LimitSeats    float64 `json:"limitSeats"`
}

var headroomAssumptions = []string{
	"an estimate from this window, not a test: the heaviest server's requests, watchers and CPU are assumed to spread evenly over the others, which a load balancer, DNS or clients pinned to literal addresses may not do",
	"its peak executing requests per priority level add to each remaining server's peak in the same proportion; the peaks did not necessarily coincide, which makes this pessimistic",
	"a request holds at least one seat; LISTs may hold up to 10, so executing requests undercount seats",
	"CPU and egress are compared with nothing: measure does not know the servers' cores or links; the figures say how much they would rise",
}

// headroom estimates N-1 from the servers whose /metrics were read.
func headroom(servers []ServerReport, seconds float64) *Headroom {
	h := &Headroom{Estimate: true, Verdict: "cannot say", Assumptions: headroomAssumptions}
	var read []ServerReport
	for _, s := range servers {
		if s.MetricsRead {
			read = append(read, s)
		}
	}
	switch {
	case len(read) == 0:
		h.Summary = "no server's /metrics were read: nothing to estimate from"
		return h
	case len(read) == 1 && len(servers) == 1:
		h.Summary = fmt.Sprintf("one API server (%s): nothing is left to absorb its load if it goes away", read[0].Server)
		return h
	case len(read) == 1:
		h.Summary = fmt.Sprintf("only %s's /metrics were read: the others' load is unknown", read[0].Server)
		return h
	}
	if seconds <= 0 {
		seconds = 1
	}
	heaviest := slices.MaxFunc(read, func(a, b ServerReport) int {
		if a.CPUSeconds != b.CPUSeconds {
			return cmp.Compare(a.CPUSeconds, b.CPUSeconds)
		}
		return cmp.Compare(a.EgressBytes, b.EgressBytes)
	})
	h.Heaviest = heaviest.Server
	share := 1 / float64(len(read)-1)
	relists, relistBytes := 0.0, 0.0
	for res, n := range heaviest.Watchers {
		relists += float64(n)
		relistBytes += float64(n) * heaviest.ListBytesMean[res]
	}
	peaks := map[string]int{}
	for _, l := range heaviest.Levels {
		peaks[l.Name] = l.Executing.Peak
	}
	fits := true
	var over []string
	for _, s := range read {
		if s.Server == heaviest.Server {
			continue
		}
		f := HeadroomFigure{
			Server:                    s.Server,
			Watchers:                  s.WatchersAfter,
			WatchersAfter:             s.WatchersAfter + int64(math.Round(float64(heaviest.WatchersAfter)*share)),
			RequestsPerSecond:         float64(s.RequestsTotal) / seconds,
			RequestsPerSecondAfter:    float64(s.RequestsTotal)/seconds + float64(heaviest.RequestsTotal)/seconds*share,
			CPUCores:                  s.CPUSeconds / seconds,
			CPUCoresAfter:             (s.CPUSeconds + heaviest.CPUSeconds*share) / seconds,
			EgressBytesPerSecond:      s.EgressBytes / seconds,
			EgressBytesPerSecondAfter: (s.EgressBytes + heaviest.EgressBytes*share) / seconds,
			Relists:                   int64(math.Round(relists * share)),
			RelistBytes:               relistBytes * share,
		}
		for _, l := range s.Levels {
			limit := lowerLimit(l)
			if l.Name == exempt || limit <= 0 {
				continue
			}
			after := float64(l.Executing.Peak) + float64(peaks[l.Name])*share
			if after > limit {
				f.Over = append(f.Over, LevelOver{Level: l.Name, PeakExecuting: l.Executing.Peak, PeakAfter: after, LimitSeats: limit})
				over = append(over, fmt.Sprintf("%s %s (%.0f of %.0f seats)", s.Server, l.Name, after, limit))
			}
		}
		if len(f.Over) > 0 {
			fits = false
		}
		h.Remaining = append(h.Remaining, f)
	}
	if fits {
		h.Verdict = "fits"
		h.Summary = fmt.Sprintf("without %s, the %d other server(s) would stay within their priority levels' limits at this window's peaks; CPU and egress rise as shown", heaviest.Server, len(read)-1)
	} else {
		h.Verdict = "does not fit"
		h.Summary = fmt.Sprintf("without %s, priority levels would exceed their limits: %s; requests would queue and may be rejected (429)", heaviest.Server, strings.Join(over, "; "))
	}
	return h
}
