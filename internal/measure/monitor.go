package measure

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Monitor samples API servers for as long as it runs, for the agent
// (`premortem agent --apiserver-sample 1s`): per server and priority level
// it keeps the executing requests sampled since the last Drain (a scrape),
// whose peak and p99 a 30 s or 1 m mean would hide, and counts the seconds
// the level was at its limit since it started. Without /metrics a sample is
// at the limit when requests waited: a request waits only when its level
// has no free seat.
type Monitor struct {
	samplers []*Sampler
	interval time.Duration

	mu      sync.Mutex
	windows map[levelKey]*levelWindow
	failed  map[string]int64
}

type levelKey struct{ server, level string }

type levelWindow struct {
	executing []int // since the last Drain, at most maxWindow
	peak      int   // since the last Drain, past maxWindow too
	waiting   int   // peak waiting since the last Drain
	atLimit   float64
}

// maxWindow bounds the samples a level keeps between two drains (an hour
// at 1 s): past it the peak is still tracked, the p99 is of the first ones.
const maxWindow = 3600

// LevelWindow is one server's priority level since the last Drain.
type LevelWindow struct {
	Server, Level string
	// Samples since the last Drain, and their peak and 99th percentile of
	// executing requests, and the peak of waiting ones.
	Samples     int
	PeakExec    int
	P99Exec     int
	PeakWaiting int
	// SecondsAtLimit since the Monitor started (a counter).
	SecondsAtLimit float64
}

// NewMonitor returns a monitor of servers sampled every interval.
func NewMonitor(servers []Server, interval time.Duration) (*Monitor, error) {
	m := &Monitor{interval: interval, windows: map[levelKey]*levelWindow{}, failed: map[string]int64{}}
	for _, s := range servers {
		sp, err := NewSampler(s, sampleTimeout(interval))
		if err != nil {
			return nil, err
		}
		m.samplers = append(m.samplers, sp)
	}
	return m, nil
}

// Run samples until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range m.samplers {
		wg.Go(func() {
			tick := time.NewTicker(m.interval)
			defer tick.Stop()
			for {
				levels, err := s.Sample(ctx)
				if ctx.Err() != nil {
					return
				}
				m.observe(s.Server().URL, levels, err)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
}

func (m *Monitor) observe(server string, levels []LevelSample, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.failed[server]++
		return
	}
	for _, l := range levels {
		k := levelKey{server, l.Name}
		w := m.windows[k]
		if w == nil {
			w = &levelWindow{}
			m.windows[k] = w
		}
		if len(w.executing) < maxWindow {
			w.executing = append(w.executing, l.Executing)
		}
		w.peak = max(w.peak, l.Executing)
		w.waiting = max(w.waiting, l.Waiting)
		if l.Waiting > 0 && l.Name != exempt {
			w.atLimit += m.interval.Seconds()
		}
	}
}

// Drain returns every level's window, sorted by server and level, and
// starts new windows. Counters (SecondsAtLimit, Failed) carry on.
func (m *Monitor) Drain() []LevelWindow {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]LevelWindow, 0, len(m.windows))
	for k, w := range m.windows {
		st := StatsOf(w.executing)
		out = append(out, LevelWindow{Server: k.server, Level: k.level, Samples: len(w.executing),
			PeakExec: max(st.Peak, w.peak), P99Exec: st.P99, PeakWaiting: w.waiting, SecondsAtLimit: w.atLimit})
		w.executing, w.peak, w.waiting = w.executing[:0], 0, 0
	}
	slices.SortFunc(out, func(a, b LevelWindow) int {
		return strings.Compare(a.Server+"\x00"+a.Level, b.Server+"\x00"+b.Level)
	})
	return out
}

// Failed is the samples of server that failed since the Monitor started.
func (m *Monitor) Failed(server string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed[server]
}

// Servers are the URLs of the servers sampled.
func (m *Monitor) Servers() []string {
	out := make([]string, 0, len(m.samplers))
	for _, s := range m.samplers {
		out = append(out, s.Server().URL)
	}
	return out
}
