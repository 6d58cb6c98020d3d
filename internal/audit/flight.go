package audit

// verbResourceFlight returns the flight id of ev's verb and resource, plus
// one (interval.vr). The ids are shared by all workers through reg; each
// worker asks it once per pair it meets.
func (p *partial) verbResourceFlight(ev *Event, reg *registry) uint32 {
	k := append(p.keyBuf[:0], ev.Verb...)
	k = append(k, ' ')
	k = appendResource(k, ev)
	p.keyBuf = k
	return p.vrIDs.id(k, reg) + 1
}

// flightPeaks names the peaks of the verb and resource flights.
func flightPeaks(names []string, flights []userFlight) map[string]int {
	out := make(map[string]int, len(names))
	for id, name := range names {
		if id < len(flights) {
			out[name] = int(flights[id].peak)
		} else {
			out[name] = 0
		}
	}
	return out
}
