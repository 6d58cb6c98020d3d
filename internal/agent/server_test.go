package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/check"
)

var testChecks = []*check.Check{
	{ID: "a-check", Title: "A", Category: "c", Severity: check.High, Run: func(*check.Pass) error { return nil }},
	{ID: "b-check", Title: "B", Category: "c", Severity: check.Low, Run: func(*check.Pass) error { return nil }},
	{ID: "c-check", Title: "C", Category: "c", Severity: check.Low, Run: func(*check.Pass) error { return nil }},
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// The endpoints before anything is read, and the series of one evaluation
// and of the next: a resolved finding's series are gone.
func TestEndpoints(t *testing.T) {
	a, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Checks: testChecks, Version: "v9", Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "discovery") {
		t.Errorf("/readyz before discovery: %d %q", code, body)
	}
	if code, _ := get(t, h, "/findings"); code != http.StatusServiceUnavailable {
		t.Errorf("/findings before an evaluation: %d", code)
	}
	_, metrics := get(t, h, "/metrics")
	for _, want := range []string{`premortem_build_info{goversion="go`, `revision="abc",version="v9"} 1`, "premortem_evaluation_complete 0",
		"process_resident_memory_bytes ", "go_memstats_heap_inuse_bytes "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}

	first := &check.Result{Ran: []string{"a-check"}, NotRun: []check.NotRun{{ID: "b-check", Reason: "not read: pods", Incomplete: true}, {ID: "c-check", Reason: "no baseline"}},
		Findings: []check.Finding{{ID: "a-check", Severity: check.High}, {ID: "a-check", Severity: check.High}, {ID: "a-check", Severity: check.Low}}}
	a.last = &evaluation{result: first, json: []byte(`{"schemaVersion":"premortem/scan/v1"}`), gauges: &gauges{
		series:    map[string][]sample{"premortem_node_version_variants": {{[]string{"kernel"}, 2}}},
		truncated: map[string]float64{"premortem_namespace_objects": 3}}}
	_, metrics = get(t, h, "/metrics")
	for _, want := range []string{
		`premortem_findings{check="a-check",severity="high"} 2`,
		`premortem_findings{check="a-check",severity="low"} 1`,
		`premortem_check_status{check="a-check",status="ran"} 1`,
		`premortem_check_status{check="b-check",status="incomplete"} 1`,
		`premortem_check_status{check="c-check",status="skipped"} 1`,
		"premortem_evaluation_complete 0",
		`premortem_node_version_variants{field="kernel"} 2`,
		`premortem_series_truncated{metric="premortem_namespace_objects"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if code, body := get(t, h, "/findings"); code != http.StatusOK || body != `{"schemaVersion":"premortem/scan/v1"}` {
		t.Errorf("/findings: %d %s", code, body)
	}

	a.last = &evaluation{result: &check.Result{Ran: []string{"a-check", "b-check", "c-check"}}, gauges: &gauges{}}
	_, metrics = get(t, h, "/metrics")
	if strings.Contains(metrics, "premortem_findings{") || strings.Contains(metrics, "premortem_node_version_variants{") {
		t.Errorf("series of the earlier evaluation remain:\n%s", metrics)
	}
	if !strings.Contains(metrics, "premortem_evaluation_complete 1") || !strings.Contains(metrics, `premortem_check_status{check="b-check",status="ran"} 1`) {
		t.Errorf("/metrics of the second evaluation:\n%s", metrics)
	}
}

// Bad parameters fail at start, not at every evaluation.
func TestNewBadParams(t *testing.T) {
	if _, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Checks: testChecks, Params: map[string]string{"a-check.nope": "1"}}); err == nil {
		t.Fatal("no error for an unknown parameter")
	}
}
