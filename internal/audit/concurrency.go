package audit

import "slices"

// interval is one completed, non-long-running request of one user.
type interval struct {
	user uint32
	// vr is the verb and resource's flight id plus one; 0 when not tracked
	// (Options.VerbResourceFlight).
	vr         uint32
	start, end int64
}

// sweep computes requests in flight per user over time: every request adds
// one at its start and removes one at its end, and the points are visited in
// time order.
//
// Audit events are written when a request completes, so they arrive ordered
// by end time, give or take the writer's jitter; a request's start is at most
// its duration earlier. Points are therefore kept in a timing wheel of 1 ms
// bins spanning the longest request plus the jitter, and a bin is swept once
// no request still to come can start inside it. Memory is bounded by the
// request rate times that window, not by the length of the log. A request
// longer than the window (beyond the API server's default 60 s request
// timeout) has its start clipped to the oldest open bin and is counted in
// clipped.
type sweep struct {
	bins    [][]point // sweepBins of them
	slab    []point   // room for bins not used yet (carve)
	swept   int64     // every bin before this time has been swept
	latest  int64     // largest end time seen
	pending int
	clipped int64
	started bool

	users []userFlight
	// verbResources are the flights of verb and resource pairs, whose
	// points carry vrPoint in user.
	verbResources []userFlight
}

type point struct {
	t     int64
	user  uint32
	delta int32
}

type userFlight struct {
	inFlight int32
	peak     int32
	peakAt   int64
	// Per-minute peaks, for the concurrency chart.
	minute     int64
	minutePeak int32
	minutes    map[int64]int32
}

// The wheel's bin width and span are constants: a bin's index is then
// found with multiplications rather than two divisions per point.
const (
	sweepResolution = int64(1e6)   // 1 ms
	sweepWindow     = int64(150e9) // 2.5 min: 60 s request timeout, slow writers, log merge skew
	sweepBins       = (sweepWindow + 2*1e9) / sweepResolution
)

func newSweep() *sweep {
	return &sweep{bins: make([][]point, sweepBins)}
}

func (s *sweep) user(id uint32) *userFlight {
	for int(id) >= len(s.users) {
		s.users = append(s.users, userFlight{minute: -1})
	}
	return &s.users[id]
}

func (s *sweep) add(iv interval) {
	if !s.started {
		s.started = true
		s.swept = (iv.end - sweepWindow) / sweepResolution * sweepResolution
		s.latest = iv.end
	}
	if iv.end > s.latest {
		s.latest = iv.end
		s.advance(s.latest - sweepWindow)
	}
	start, end := iv.start, iv.end
	span := sweepBins * sweepResolution
	if end >= s.swept+span {
		// Cannot happen after advance (latest-window+span > latest); guard anyway.
		s.advance(end - span + sweepResolution)
	}
	if start < s.swept || end < s.swept {
		s.clipped++
		if end < s.swept {
			// The whole request lies in the swept past: too late to place.
			return
		}
		start = s.swept
	}
	s.put(point{t: start, user: iv.user, delta: 1})
	s.put(point{t: end, user: iv.user, delta: -1})
	if iv.vr != 0 {
		s.put(point{t: start, user: (iv.vr - 1) | vrPoint, delta: 1})
		s.put(point{t: end, user: (iv.vr - 1) | vrPoint, delta: -1})
	}
}

// vrPoint marks a point of a verb and resource pair rather than a user.
const vrPoint = 1 << 31

func (s *sweep) put(p point) {
	i := bin(p.t)
	b := s.bins[i]
	if cap(b) == 0 {
		b = s.carve()
	}
	s.bins[i] = append(b, p)
	s.pending++
}

// binCap is the room a bin starts with: a bin holds the points of 1 ms,
// a few at thousands of requests a second.
const binCap = 8

// carve returns an empty bin of binCap points cut from a slab. Growing
// every bin from nothing cost an allocation per doubling in each of the
// 152,000 bins, a tenth of the analysis on a log of a few minutes; a bin
// keeps its room as the wheel turns.
func (s *sweep) carve() []point {
	if len(s.slab) < binCap {
		s.slab = make([]point, 1024*binCap)
	}
	b := s.slab[:0:binCap]
	s.slab = s.slab[binCap:]
	return b
}

// bin is the index of the bin holding time t.
func bin(t int64) int64 { return t / sweepResolution % sweepBins }

// advance sweeps every bin before t.
func (s *sweep) advance(t int64) {
	for s.swept+sweepResolution <= t {
		if s.pending == 0 {
			s.swept = t / sweepResolution * sweepResolution
			return
		}
		i := bin(s.swept)
		if b := s.bins[i]; len(b) > 0 {
			if len(b) > 1 {
				// Ends before starts at the same instant: [start, end).
				slices.SortFunc(b, func(x, y point) int {
					if x.t != y.t {
						if x.t < y.t {
							return -1
						}
						return 1
					}
					return int(x.delta - y.delta)
				})
			}
			for _, p := range b {
				s.apply(p)
			}
			s.pending -= len(b)
			s.bins[i] = b[:0]
		}
		s.swept += sweepResolution
	}
}

func (s *sweep) apply(p point) {
	if p.user&vrPoint != 0 {
		// Verb and resource pairs need their peak only, not the per-minute
		// peaks of the chart (a map per pair and minute over days of log).
		id := p.user &^ vrPoint
		for int(id) >= len(s.verbResources) {
			s.verbResources = append(s.verbResources, userFlight{minute: -1})
		}
		u := &s.verbResources[id]
		u.inFlight += p.delta
		if u.inFlight > u.peak {
			u.peak, u.peakAt = u.inFlight, p.t
		}
		return
	}
	u := s.user(p.user)
	m := p.t / 60e9
	if m != u.minute {
		u.flushMinute()
		u.minute = m
		// A request in flight across the minute boundary counts in both.
		u.minutePeak = u.inFlight
	}
	u.inFlight += p.delta
	if u.inFlight > u.peak {
		u.peak, u.peakAt = u.inFlight, p.t
	}
	if u.inFlight > u.minutePeak {
		u.minutePeak = u.inFlight
	}
}

func (u *userFlight) flushMinute() {
	if u.minute < 0 || u.minutePeak == 0 {
		return
	}
	if u.minutes == nil {
		u.minutes = map[int64]int32{}
	}
	if u.minutePeak > u.minutes[u.minute] {
		u.minutes[u.minute] = u.minutePeak
	}
}

// finish sweeps everything still pending.
func (s *sweep) finish() {
	if s.started {
		s.advance(s.latest + 2*sweepResolution)
	}
	for i := range s.users {
		s.users[i].flushMinute()
	}
}
