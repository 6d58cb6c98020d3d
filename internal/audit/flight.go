package audit

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
