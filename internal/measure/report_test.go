package measure

import (
	"bytes"
	"errors"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/output/outputtest"
)

func TestStatsOf(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want Stats
	}{
		{nil, Stats{}},
		{[]int{0, 0, 0, 60, 0, 0, 0, 0, 0, 0}, Stats{Peak: 60, Mean: 6, P99: 60}},
		{append(make([]int, 199), 50), Stats{Peak: 50, Mean: 0.25, P99: 0}},
	} {
		if got := StatsOf(tc.in); got != tc.want {
			t.Errorf("StatsOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// scrapeOf is a scrape with the figures the report reads.
func scrapeOf(requests, cpu, bytes, watchers float64, limit float64) *scrape {
	return &scrape{
		requests:      map[requestKey]float64{{"LIST", "pods", "200"}: requests, {"LIST", "pods", "429"}: requests / 10},
		responseBytes: map[requestKey]float64{{Verb: "LIST", Resource: "pods"}: bytes},
		listCount:     map[string]float64{"pods": requests}, listBytes: map[string]float64{"pods": bytes},
		watchers: map[string]float64{"pods": watchers}, rejected: map[string]float64{},
		limitSeats: map[string]float64{"global-default": limit}, nominalSeats: map[string]float64{}, cpu: cpu,
		has: map[string]bool{mRequests: true, mCPU: true, mResponseBytes: true},
	}
}

func seriesOf(executing ...int) *Series {
	s := &Series{}
	for i, e := range executing {
		s.add(float64(i), []LevelSample{{Name: "global-default", Executing: e}, {Name: exempt, Executing: 1}})
	}
	return s
}

func TestServerReportAndHeadroom(t *testing.T) {
	heavy := serverReport(Server{URL: "https://10.0.0.1:6443", Via: ViaEndpointSlice},
		scrapeOf(100, 10, 1000, 50, 56), scrapeOf(1100, 40, 101000, 60, 56), seriesOf(0, 40, 56, 0), time.Second)
	light := serverReport(Server{URL: "https://10.0.0.2:6443", Via: ViaEndpointSlice},
		scrapeOf(100, 10, 1000, 10, 56), scrapeOf(200, 15, 2000, 10, 56), seriesOf(0, 30, 5, 0), time.Second)
	if heavy.RequestsTotal != 1100 || heavy.Throttled != 100 || heavy.CPUSeconds != 30 || heavy.EgressBytes != 100000 || heavy.WatchersAfter != 60 {
		t.Errorf("heavy: %+v", heavy)
	}
	l := heavy.Levels[1]
	if l.Name != "global-default" || l.Executing.Peak != 56 || l.Executing.Mean != 24 || l.SecondsAtLimit != 1 {
		t.Errorf("level: %+v", l)
	}
	if heavy.Executing.Peak != 56 {
		t.Errorf("executing but exempt: %+v", heavy.Executing)
	}
	tot := totals([]ServerReport{heavy, light}, time.Second)
	if tot.RequestsTotal != 1210 || tot.Levels[1].Executing.Peak != 70 || tot.Levels[1].LimitSeats != 112 {
		t.Errorf("totals: %+v", tot)
	}
	h := headroom([]ServerReport{heavy, light}, 10)
	if h.Verdict != "does not fit" || h.Heaviest != heavy.Server || len(h.Remaining) != 1 || !h.Estimate {
		t.Fatalf("headroom: %+v", h)
	}
	f := h.Remaining[0]
	if f.WatchersAfter != 70 || f.Relists != 60 || f.CPUCoresAfter != 3.5 || len(f.Over) != 1 || f.Over[0].PeakAfter != 86 {
		t.Errorf("figure: %+v", f)
	}
	if h := headroom([]ServerReport{light}, 10); h.Verdict != "cannot say" || !strings.Contains(h.Summary, "one API server") {
		t.Errorf("one server: %+v", h)
	}
}

func TestWritersEscape(t *testing.T) {
	s := serverReport(Server{URL: "https://10.0.0.1:6443", Via: ViaFlag}, scrapeOf(1, 1, 1, 1, 1), scrapeOf(2, 2, 2, 2, 1), seriesOf(1, 2), time.Second)
	s.Levels[1].Name = outputtest.Evil
	s.Requests[0].Resource = outputtest.Evil
	r := &Report{Schema: Schema, IntervalSeconds: 1, Command: []string{"deploy", outputtest.Evil}, Servers: []ServerReport{s},
		NotRead: []string{outputtest.Evil}}
	r.Total = totals(r.Servers, time.Second)
	r.Headroom = headroom(r.Servers, 2)
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	outputtest.CheckEscaped(t, "table", b.String(), "| forged")
	b.Reset()
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, outputtest.Evil) || !strings.Contains(out, template.HTMLEscapeString(`\n| forged | row |\x1b[2J`)) {
		t.Errorf("html not escaped:\n%s", out)
	}
	if n := strings.Count(out, "http"); n != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`)+strings.Count(out, "https://10.0.0.1") {
		t.Errorf("html fetches something: %d URLs", n)
	}
	if !strings.Contains(out, "<svg") || !strings.Contains(out, "mean ") {
		t.Error("html has no chart with its mean")
	}
}

func TestMonitorWindows(t *testing.T) {
	m := &Monitor{interval: time.Second, windows: map[levelKey]*levelWindow{}, failed: map[string]int64{}}
	for _, n := range []int{0, 50, 3, 0} {
		m.observe("a", []LevelSample{{Name: "global-default", Executing: n, Waiting: n / 10}, {Name: exempt, Executing: 1}}, nil)
	}
	m.observe("a", nil, errors.New("timeout"))
	got := m.Drain()
	if len(got) != 2 || got[1].Level != "global-default" || got[1].PeakExec != 50 || got[1].P99Exec != 50 || got[1].PeakWaiting != 5 || got[1].SecondsAtLimit != 1 || got[1].Samples != 4 {
		t.Errorf("first window: %+v", got)
	}
	if m.Failed("a") != 1 {
		t.Errorf("failed: %d", m.Failed("a"))
	}
	m.observe("a", []LevelSample{{Name: "global-default", Executing: 2}}, nil)
	got = m.Drain()
	if got[1].PeakExec != 2 || got[1].Samples != 1 || got[1].SecondsAtLimit != 1 {
		t.Errorf("second window: %+v", got)
	}
}
