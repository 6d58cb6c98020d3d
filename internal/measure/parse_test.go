package measure

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/sizelimit"
)

func TestParseDump(t *testing.T) {
	f, err := os.Open("testdata/dump_priority_levels.txt") // from a v1.36 kube-apiserver
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	levels, err := parseDump(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 8 || levels[1] != (LevelSample{Name: "exempt", Executing: 1}) {
		t.Errorf("levels: %+v", levels)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"reordered columns", "WaitingRequests, ExecutingRequests, PriorityLevelName\n3, 7, workload-low\n", ""},
		{"no header", "", "empty dump"},
		{"missing column", "PriorityLevelName, ExecutingRequests\nx, 1\n", "no WaitingRequests column"},
		{"not a number", "PriorityLevelName, ExecutingRequests, WaitingRequests\nx, 1e9, 0\n", "not a count"},
		{"negative", "PriorityLevelName, ExecutingRequests, WaitingRequests\nx, -1, 0\n", "not a count"},
		{"short row", "PriorityLevelName, ExecutingRequests, WaitingRequests\nx, 1\n", "has no WaitingRequests"},
		{"too large", "PriorityLevelName, ExecutingRequests, WaitingRequests\n" + strings.Repeat("x, 1, 0\n", maxDumpBytes/8+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			levels, err := parseDump(strings.NewReader(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "" && (len(levels) != 1 || levels[0] != LevelSample{Name: "workload-low", Executing: 7, Waiting: 3}):
				t.Errorf("levels: %+v", levels)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

const metricsText = `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 300
apiserver_request_total{code="429",group="apps",resource="deployments",subresource="",verb="LIST"} 2
apiserver_request_total{code="200",group="",resource="",subresource="/readyz",verb="GET"} 4
apiserver_response_sizes_sum{group="",resource="pods",subresource="",verb="LIST"} 1.5e+06
apiserver_response_sizes_count{group="",resource="pods",subresource="",verb="LIST"} 3
apiserver_longrunning_requests{group="",resource="pods",subresource="",verb="WATCH"} 7
apiserver_flowcontrol_current_limit_seats{priority_level="global-default"} 56
apiserver_flowcontrol_rejected_requests_total{flow_schema="x",priority_level="workload-low",reason="queue-full"} 5
process_cpu_seconds_total 12.5
weird_label{a="x\"y\\z\n",b="c,d}"} 1 1700000000000
`

func TestReadScrape(t *testing.T) {
	s, err := readScrape(strings.NewReader(metricsText), 1<<20, timeZero)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want float64
	}{
		{"POST configmaps", s.requests[requestKey{"POST", "configmaps", "201"}], 300},
		{"429 deployments", s.requests[requestKey{"LIST", "deployments.apps", "429"}], 2},
		{"readyz", s.requests[requestKey{"GET", "/readyz", "200"}], 4},
		{"LIST pods bytes", s.listBytes["pods"], 1.5e6},
		{"watchers", s.watchers["pods"], 7},
		{"limit", s.limitSeats["global-default"], 56},
		{"rejected", s.rejected["workload-low/queue-full"], 5},
		{"cpu", s.cpu, 12.5},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if m := s.missing(); len(m) != 0 {
		t.Errorf("missing %v", m)
	}
	all, err := parseMetrics(strings.NewReader(metricsText), 1<<20, func(n string) bool { return n == "weird_label" })
	if err != nil || len(all) != 1 || all[0].labels["a"] != "x\"y\\z\n" || all[0].labels["b"] != "c,d}" {
		t.Errorf("escaped labels: %+v %v", all, err)
	}
}

func TestParseMetricsRefuses(t *testing.T) {
	keep := func(string) bool { return true }
	for _, tc := range []struct{ name, in, want string }{
		{"unterminated", `m{a="x} 1`, "unterminated"},
		{"unquoted", `m{a=x} 1`, "not quoted"},
		{"no value", `m{a="x"}`, "want a value"},
		{"bad value", `m 1x`, "value"},
		{"long line", "m " + strings.Repeat("1", maxMetricsLine+1), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMetrics(strings.NewReader(tc.in), 1<<20, keep)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	_, err := parseMetrics(strings.NewReader(metricsText), 100, keep)
	var se *sizelimit.Error
	if !errors.As(err, &se) {
		t.Errorf("past the size limit: %v", err)
	}
}

var timeZero = time.Time{}

// FuzzParseMetrics: any answer to GET /metrics parses or fails with an
// error, never a panic, within its bounds.
func FuzzParseMetrics(f *testing.F) {
	f.Add(metricsText)
	f.Add(`m{a="\`)
	f.Add("m{a=\"x\",} 1\n# TYPE m counter\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := readScrape(strings.NewReader(in), 1<<16, timeZero)
		if err == nil && s == nil {
			t.Fatal("no scrape and no error")
		}
	})
}

// FuzzParseDump: any answer to the APF dump parses or fails with an error.
func FuzzParseDump(f *testing.F) {
	f.Add("PriorityLevelName, ExecutingRequests, WaitingRequests\nx, 1, 0\n")
	f.Add("PriorityLevelName,,,\n,,,")
	f.Fuzz(func(t *testing.T, in string) {
		levels, err := parseDump(strings.NewReader(in))
		for _, l := range levels {
			if err == nil && (l.Name == "" || l.Executing < 0 || l.Waiting < 0) {
				t.Fatalf("level %+v from %q", l, in)
			}
		}
	})
}
