package check

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

func TestSeverity(t *testing.T) {
	for _, s := range Severities() {
		got, err := ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s, got, err)
		}
		b, err := json.Marshal(s)
		if err != nil || string(b) != `"`+s.String()+`"` {
			t.Errorf("Marshal(%v) = %s, %v", s, b, err)
		}
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity(severe) succeeded")
	}
	if !(Info < Low && Low < Medium && Medium < High && High < Critical) {
		t.Error("severities out of order")
	}
}

// fake builds a check that reports one finding per entry of sevs.
func fake(id string, reads []snapshot.Resource, run func(*Pass) error) *Check {
	return &Check{ID: id, Title: "t", Category: "c", Severity: High, Escalation: &Escalation{To: Critical, When: "w"},
		Incidents: []string{"001"}, Reads: reads, Doc: "d", Remediation: "r", Run: run,
		Evidence: []EvidenceKey{{Name: "count", Doc: "d"}},
		Params:   []Param{{Name: "limit", Type: Int, Default: "3", Doc: "d"}, {Name: "age", Type: Duration, Default: "10m", Doc: "d"}}}
}

func TestRun(t *testing.T) {
	takenAt := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	snap := &snapshot.Snapshot{Info: snapshot.Info{TakenAt: takenAt,
		Skipped:           []snapshot.Skipped{{Resource: snapshot.Secrets, Reason: "forbidden"}},
		DiscoveryFailures: []snapshot.DiscoveryFailure{{GroupVersion: "apiregistration.k8s.io/v1", Error: "503"}}}}
	var sawNow time.Time
	var sawLimit int
	var sawAge time.Duration
	cs := []*Check{
		fake("reports", []snapshot.Resource{snapshot.Nodes}, func(p *Pass) error {
			sawNow, sawLimit, sawAge = p.Now, p.Int("limit"), p.Duration("age")
			p.Report(Finding{Severity: Low, Title: "b", Objects: []Object{{Kind: "Node", Name: "b"}}})
			p.Report(Finding{Severity: Critical, Title: "a", Objects: []Object{{Kind: "Node", Name: "z"}}})
			p.Report(Finding{Severity: Low, Title: "a", Objects: []Object{{Kind: "Node", Name: "a"}}, Remediation: "own"})
			return nil
		}),
		fake("needs-secrets", []snapshot.Resource{snapshot.Secrets}, func(*Pass) error { t.Error("ran without its reads"); return nil }),
		fake("needs-apiservices", []snapshot.Resource{snapshot.APIServices}, func(*Pass) error { t.Error("ran without its reads"); return nil }),
		fake("not-applicable", []snapshot.Resource{snapshot.Nodes}, func(p *Pass) error { return p.NotRun("needs --baseline") }),
		fake("fails", []snapshot.Resource{snapshot.Nodes}, func(*Pass) error { return errors.New("boom") }),
		fake("panics", []snapshot.Resource{snapshot.Nodes}, func(p *Pass) error { p.Float("limit"); return nil }),
	}
	var log strings.Builder
	res, err := Run(context.Background(), snap, cs, Options{Params: map[string]string{"reports.limit": "7"},
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `level=ERROR msg="check panicked" check=panics`) {
		t.Errorf("the panic was not logged to Options.Log: %q", log.String())
	}
	if !sawNow.Equal(takenAt) || sawLimit != 7 || sawAge != 10*time.Minute {
		t.Errorf("pass saw now=%v limit=%d age=%v; want the snapshot time, the override and the default", sawNow, sawLimit, sawAge)
	}
	var order []string
	for _, f := range res.Findings {
		order = append(order, f.Severity.String()+" "+f.Objects[0].Name)
		if f.ID != "reports" || len(f.Incidents) != 1 {
			t.Errorf("finding not filled from its check: %+v", f)
		}
	}
	if got := strings.Join(order, ","); got != "critical z,low a,low b" {
		t.Errorf("findings order = %s", got)
	}
	if res.Findings[1].Remediation != "own" || res.Findings[2].Remediation != "r" {
		t.Errorf("remediation defaults wrong: %q %q", res.Findings[1].Remediation, res.Findings[2].Remediation)
	}
	if len(res.Ran) != 1 || res.Ran[0] != "reports" {
		t.Errorf("ran = %v", res.Ran)
	}
	want := map[string]struct {
		reason     string
		incomplete bool
	}{
		"needs-secrets":     {"not read: secrets (forbidden)", true},
		"needs-apiservices": {"not read: apiservices.apiregistration.k8s.io (discovery failed: 503)", true},
		"not-applicable":    {"needs --baseline", false},
		"fails":             {"failed: boom", true},
		"panics":            {"failed: panic: check panics: parameter \"limit\" is not declared with type float64", true},
	}
	if len(res.NotRun) != len(want) {
		t.Fatalf("notRun = %+v", res.NotRun)
	}
	for _, n := range res.NotRun {
		w := want[n.ID]
		if !strings.HasPrefix(n.Reason, w.reason) || n.Incomplete != w.incomplete {
			t.Errorf("notRun %s = %q (incomplete %v), want %q (%v)", n.ID, n.Reason, n.Incomplete, w.reason, w.incomplete)
		}
	}
	if res.Complete() {
		t.Error("result with skipped kinds reports complete")
	}
	if m, ok := res.Max(); !ok || m != Critical {
		t.Errorf("Max = %v, %v", m, ok)
	}
}

func TestRunCompleteness(t *testing.T) {
	snap := &snapshot.Snapshot{}
	cs := []*Check{fake("na", nil, func(p *Pass) error { return p.NotRun("needs --baseline") })}
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err := Run(context.Background(), snap, cs, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete() {
		t.Error("a check that does not apply made the result incomplete")
	}
	if _, ok := res.Max(); ok {
		t.Error("Max reported a severity without findings")
	}
}

func TestRunParamErrors(t *testing.T) {
	cs := []*Check{fake("x", nil, func(*Pass) error { return nil })}
	for _, kv := range [][2]string{{"x.nope", "1"}, {"y.limit", "1"}, {"limit", "1"}, {"x.limit", "many"}, {"x.age", "10"},
		{"x.limit", "-1"}, {"x.age", "-1m"}} {
		_, err := Run(context.Background(), &snapshot.Snapshot{}, cs, Options{Params: map[string]string{kv[0]: kv[1]}})
		if err == nil {
			t.Errorf("param %s=%s accepted", kv[0], kv[1])
		}
	}
	// An unknown check ID names those that take parameters here.
	_, err := Run(context.Background(), &snapshot.Snapshot{}, append(cs, fake("y-two", nil, nil)), Options{Params: map[string]string{"z.limit": "1"}})
	if err == nil || !strings.HasSuffix(err.Error(), "of a selected check: x, y-two") {
		t.Errorf("unknown check: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, &snapshot.Snapshot{}, cs, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: err = %v", err)
	}
}

// Negative numbers and durations, NaN, infinities and values below a
// declared minimum are refused when the parameters are parsed, before any
// check runs.
func TestParamParse(t *testing.T) {
	count := Param{Name: "n", Type: Int, Default: "3"}
	replicas := Param{Name: "r", Type: Int, Default: "3", Min: "1"}
	share := Param{Name: "s", Type: Float, Default: "0.1"}
	age := Param{Name: "a", Type: Duration, Default: "10m"}
	names := Param{Name: "t", Type: Text, Default: ""}
	for _, tc := range []struct {
		p    Param
		in   string
		want any // nil: an error
	}{
		{count, "0", 0}, {count, " 7 ", 7}, {count, "9223372036854775807", 9223372036854775807},
		{count, "-1", nil}, {count, "1.5", nil}, {count, "many", nil}, {count, "", nil},
		{count, "99999999999999999999", nil},
		{replicas, "1", 1}, {replicas, "0", nil}, {replicas, "-3", nil},
		{share, "0", 0.0}, {share, "0.25", 0.25}, {share, "1e300", 1e300},
		{share, "-0.1", nil}, {share, "NaN", nil}, {share, "nan", nil}, {share, "Inf", nil}, {share, "-Inf", nil},
		{share, "+Inf", nil}, {share, "0.5x", nil},
		{age, "0s", time.Duration(0)}, {age, "2h", 2 * time.Hour}, {age, "-5m", nil}, {age, "10", nil},
		{names, "-1", "-1"},
	} {
		got, err := tc.p.parse(tc.in)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s %s: %q accepted as %v", tc.p.Type, tc.p.Name, tc.in, got)
		case tc.want != nil && (err != nil || got != tc.want):
			t.Errorf("%s %s: %q = %v, %v; want %v", tc.p.Type, tc.p.Name, tc.in, got, err, tc.want)
		}
	}
	if _, err := replicas.parse("0"); err == nil || !strings.Contains(err.Error(), "below the minimum 1") {
		t.Errorf("below the minimum: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := fake("good-one", []snapshot.Resource{snapshot.Nodes}, func(*Pass) error { return nil })
	if err := Validate([]*Check{good}); err != nil {
		t.Errorf("valid check rejected: %v", err)
	}
	bad := &Check{ID: "Bad_ID", Params: []Param{{Name: "n", Type: Int, Default: "x"},
		{Name: "low", Type: Int, Default: "0", Min: "1", Doc: "d"}, {Name: "t", Type: Text, Min: "1", Doc: "d"}}}
	unknown := fake("unknown-incident", []snapshot.Resource{snapshot.Nodes}, func(*Pass) error { return nil })
	unknown.Incidents = []string{"001", "404"}
	down := fake("escalates-down", []snapshot.Resource{snapshot.Nodes}, func(*Pass) error { return nil })
	down.Escalation = &Escalation{To: Medium, When: "never"}
	silent := fake("escalates-silently", []snapshot.Resource{snapshot.Nodes}, func(*Pass) error { return nil })
	silent.Escalation = &Escalation{To: Critical}
	err := Validate([]*Check{bad, good, good, unknown, down, silent})
	for _, want := range []string{"not kebab-case", "no title", "no incidents", "no reads", "no doc", "no remediation",
		"no run function", `parameter "n" has no doc`, `parameter "n" default`, `parameter "low" default: "0" is below the minimum 1`,
		`parameter "t": a text parameter has no minimum`, "duplicate ID", `"unknown-incident": unknown incident "404"`,
		`"Bad_ID": no evidence keys declared`, `"escalates-down": escalation must say when`, `"escalates-silently": escalation must say when`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not mention %q", err, want)
		}
	}
}

// TestReportContract: a finding above the check's maximum severity is
// reported at that maximum, and it and an undeclared evidence key are logged
// as bugs in the check.
func TestReportContract(t *testing.T) {
	tests := []struct {
		name       string
		escalation *Escalation
		finding    Finding
		wantSev    Severity
		wantLog    string
	}{
		{name: "declared", finding: Finding{Severity: High, Evidence: map[string]any{"count": 1}}, wantSev: High},
		{name: "escalation", escalation: &Escalation{To: Critical, When: "w"}, finding: Finding{Severity: Critical}, wantSev: Critical},
		{name: "above declared", finding: Finding{Severity: Critical}, wantSev: High,
			wantLog: `level=ERROR msg="check bug: finding above the check's declared severity; reported at the declared maximum" check=x severity=critical declared=high`},
		{name: "above escalation", escalation: &Escalation{To: High, When: "w"}, finding: Finding{Severity: Critical}, wantSev: High,
			wantLog: "severity=critical declared=high"},
		{name: "undeclared key", finding: Finding{Severity: Low, Evidence: map[string]any{"count": 1, "other": 2}}, wantSev: Low,
			wantLog: `msg="check bug: evidence key not declared in the check's Evidence" check=x key=other`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake("x", nil, func(p *Pass) error { p.Report(tt.finding); return nil })
			c.Escalation = tt.escalation
			var log strings.Builder
			res, err := Run(context.Background(), &snapshot.Snapshot{}, []*Check{c},
				Options{Log: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != 1 || res.Findings[0].Severity != tt.wantSev {
				t.Fatalf("findings = %+v, want one at %s", res.Findings, tt.wantSev)
			}
			if tt.wantLog == "" && log.Len() > 0 || !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log = %q, want %q", log.String(), tt.wantLog)
			}
		})
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12 * time.Minute: "12m", 3 * time.Hour: "3h",
		3*time.Hour + 20*time.Minute: "3h20m", 4 * 24 * time.Hour: "4d", 4*24*time.Hour + 6*time.Hour + 5*time.Minute: "4d6h",
	} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestFormatTimeAndFirst(t *testing.T) {
	at := time.Date(2026, 11, 21, 11, 0, 0, 500, time.FixedZone("CET", 3600))
	if got := FormatTime(at); got != "2026-11-21T10:00:00Z" {
		t.Errorf("FormatTime = %s", got)
	}
	xs := []int{1, 2, 3}
	if got := First(xs, 2); len(got) != 2 || got[1] != 2 {
		t.Errorf("First(xs, 2) = %v", got)
	}
	if got := First(xs, 5); len(got) != 3 {
		t.Errorf("First(xs, 5) = %v", got)
	}
	if got := First(xs, -1); len(got) != 0 {
		t.Errorf("First(xs, -1) = %v", got)
	}
	if got := First([]int(nil), 5); got != nil {
		t.Errorf("First(nil, 5) = %#v, want nil", got)
	}
}

func TestPassList(t *testing.T) {
	for val, want := range map[string]string{"": "", "a": "a", " a, b ,,c ": "a|b|c"} {
		var got []string
		c := fake("x", nil, func(p *Pass) error { got = p.List("names"); return nil })
		c.Params = []Param{{Name: "names", Type: Text, Default: "", Doc: "d"}}
		if _, err := Run(context.Background(), &snapshot.Snapshot{}, []*Check{c}, Options{Params: map[string]string{"x.names": val}}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != want {
			t.Errorf("List(%q) = %q, want %q", val, got, want)
		}
	}
}

func TestSortedByName(t *testing.T) {
	in := []corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "a"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "z"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}},
	}
	var got []string
	for _, p := range SortedByName(in) {
		got = append(got, p.Namespace+"/"+p.Name)
	}
	if strings.Join(got, ",") != "a/b,a/z,b/a" || in[0].Namespace != "b" {
		t.Errorf("SortedByName = %v (input %v changed?)", got, in)
	}
}
