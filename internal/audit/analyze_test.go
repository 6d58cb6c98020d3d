package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tev describes one test event; line renders it the way the API server does.
type tev struct {
	user, ua, verb, uri, resource, group, sub, ns, name, stage string
	code                                                       int
	start, end                                                 time.Time
	ips                                                        []string
	id                                                         string
}

var t0 = time.Date(2024, 5, 13, 9, 0, 0, 0, time.UTC)

func (e tev) line() string {
	m := map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "verb": e.verb,
		"user": map[string]any{"username": e.user, "groups": []string{"system:authenticated"}}, "userAgent": e.ua,
		"requestURI": e.uri, "sourceIPs": e.ips, "auditID": e.id}
	if e.stage == "" {
		e.stage = "ResponseComplete"
	}
	m["stage"] = e.stage
	if e.code == 0 {
		e.code = 200
	}
	if e.stage != "RequestReceived" {
		m["responseStatus"] = map[string]any{"metadata": map[string]any{}, "code": e.code}
	}
	if e.resource != "" {
		ref := map[string]any{"resource": e.resource, "apiVersion": "v1"}
		for k, v := range map[string]string{"namespace": e.ns, "name": e.name, "apiGroup": e.group, "subresource": e.sub} {
			if v != "" {
				ref[k] = v
			}
		}
		m["objectRef"] = ref
	}
	if !e.start.IsZero() {
		m["requestReceivedTimestamp"] = e.start.Format("2006-01-02T15:04:05.000000Z07:00")
		m["stageTimestamp"] = e.end.Format("2006-01-02T15:04:05.000000Z07:00")
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

func at(d time.Duration) time.Time { return t0.Add(d) }

func analyze(t *testing.T, opts Options, ins ...Input) *Report {
	t.Helper()
	r, err := Analyze(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLoadAttribution(t *testing.T) {
	var log strings.Builder
	// nodegroup-controller: three overlapping consistent LISTs of pods, then one more.
	for i, d := range []time.Duration{2 * time.Second, 3 * time.Second, 4 * time.Second} {
		log.WriteString(tev{user: "ng", ua: "nodegroup-controller/v0.3", verb: "list", resource: "pods", uri: "/api/v1/pods?labelSelector=a%3Db",
			start: at(time.Duration(i) * 100 * time.Millisecond), end: at(d)}.line())
	}
	log.WriteString(tev{user: "ng", ua: "nodegroup-controller/v0.3", verb: "list", resource: "pods", uri: "/api/v1/pods", code: 504,
		start: at(61 * time.Second), end: at(62 * time.Second)}.line())
	// alice: sequential cheap reads, one throttled, and a watch.
	log.WriteString(tev{user: "alice", ua: "kubectl/v1.30", verb: "list", resource: "pods", ns: "a", uri: "/api/v1/namespaces/a/pods?limit=500", start: at(0), end: at(100 * time.Millisecond)}.line())
	log.WriteString(tev{user: "alice", ua: "kubectl/v1.30", verb: "get", resource: "pods", ns: "a", name: "p", uri: "/api/v1/namespaces/a/pods/p", code: 429, start: at(time.Second), end: at(time.Second + 100*time.Millisecond)}.line())
	log.WriteString(tev{user: "alice", ua: "kubectl/v1.30", verb: "watch", resource: "pods", ns: "a", uri: "/api/v1/namespaces/a/pods?watch=true", start: at(0), end: at(10 * time.Minute)}.line())
	log.WriteString(tev{user: "alice", ua: "kubectl/v1.30", verb: "get", stage: "RequestReceived", resource: "pods", start: at(time.Second), end: at(time.Second)}.line())

	r := analyze(t, Options{}, StringInput("audit.log", log.String()))
	if len(r.Users) != 2 || r.Users[0].Name != "ng" {
		t.Fatalf("users = %+v", r.Users)
	}
	ng, alice := r.Users[0], r.Users[1]
	if ng.Requests != 4 || ng.QuerySeconds != 2+2.9+3.8+1 || ng.PeakInFlight != 3 || ng.ServerErrors != 1 {
		t.Errorf("ng = %+v", ng)
	}
	if ng.ExpensiveLists != 4 || len(ng.ListsByClass) != 1 || ng.ListsByClass[0].Selector != 3 || ng.ListsByClass[0].ClusterWide != 4 {
		t.Errorf("ng lists = %+v, expensive %d", ng.ListsByClass, ng.ExpensiveLists)
	}
	if alice.Requests != 2 || alice.LongRunning != 1 || alice.Throttled != 1 || alice.PeakInFlight != 1 || alice.LongRunningSeconds != 600 {
		t.Errorf("alice = %+v", alice)
	}
	if want := 9.7 / 9.9; abs(ng.Share-want) > 1e-9 {
		t.Errorf("ng share = %v, want %v", ng.Share, want)
	}
	if r.Stages["RequestReceived"] != 1 || r.Events != 8 {
		t.Errorf("stages = %v, events = %d", r.Stages, r.Events)
	}
	// Timeline: minute 0 holds ng's first three LISTs, minute 1 the fourth.
	s := r.Timeline.Series[0]
	if s.User != "ng" || r.Timeline.StepSeconds != 60 || s.QuerySeconds[0] != 8.7 || s.QuerySeconds[1] != 1 || s.PeakInFlight[0] != 3 || s.PeakInFlight[1] != 1 {
		t.Errorf("timeline = %+v %+v", r.Timeline, s)
	}
	if len(r.Lists.Clients) != 2 || r.Lists.Clients[0].User != "ng" || r.Lists.Clients[0].PeakInFlight != 3 {
		t.Errorf("list clients = %+v", r.Lists.Clients)
	}

	// Filters keep only what they name.
	f := analyze(t, Options{Filter: Filter{Users: []string{"al*"}, Verbs: []string{"get"}}}, StringInput("audit.log", log.String()))
	if len(f.Users) != 1 || f.Users[0].Name != "alice" || f.Total.Requests != 1 || f.Filtered != 6 {
		t.Errorf("filtered report: users %+v total %+v filtered %d", f.Users, f.Total, f.Filtered)
	}
	f = analyze(t, Options{Since: at(time.Minute)}, StringInput("audit.log", log.String()))
	if f.Total.Requests+f.Total.LongRunning != 2 {
		t.Errorf("--since kept %d requests, want 2", f.Total.Requests+f.Total.LongRunning)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestReportIndependentOfChunkingAndFiles: the same log cut into different
// chunks, parsed by different numbers of workers, or split into rotated
// files (some compressed, given in any order) gives the same report.
func TestReportIndependentOfChunkingAndFiles(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 7, Bytes: 3 << 20, Rate: 300}); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	norm := func(r *Report) string {
		r.Inputs = nil
		b, _ := json.Marshal(r)
		return string(b)
	}
	want := norm(analyze(t, Options{Workers: 1}, StringInput("a", log)))
	for _, o := range []Options{{Workers: 2, ChunkSize: 4096}, {Workers: 3, ChunkSize: 700}, {Workers: 2, ChunkSize: 64 << 10}} {
		if got := norm(analyze(t, o, StringInput("a", log))); got != want {
			t.Errorf("workers %d chunk %d: report differs", o.Workers, o.ChunkSize)
		}
	}
	// Rotated files: three consecutive parts, the older ones gzipped.
	dir := t.TempDir()
	lines := strings.SplitAfter(log, "\n")
	parts := [][]string{lines[:len(lines)/3], lines[len(lines)/3 : 2*len(lines)/3], lines[2*len(lines)/3:]}
	names := []string{"audit-3.log.gz", "audit-2.log.gz", "audit.log"}
	for i, p := range parts {
		data := []byte(strings.Join(p, ""))
		if strings.HasSuffix(names[i], ".gz") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, names[i]), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ins, _, err := Inputs([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := norm(analyze(t, Options{Workers: 2, ChunkSize: 32 << 10}, ins...)); got != want {
		t.Error("rotated files: report differs from the single log")
	}
}

// TestOverlappingLogsMerged: two API servers' logs covering the same time
// are merged by time, so a user's requests on both count together in flight.
func TestOverlappingLogsMerged(t *testing.T) {
	var a, b strings.Builder
	for i := range 200 {
		s := at(time.Duration(i) * time.Second)
		e := tev{user: "u", verb: "list", resource: "pods", uri: "/api/v1/pods", start: s, end: s.Add(1500 * time.Millisecond)}
		if i%2 == 0 {
			a.WriteString(e.line())
		} else {
			b.WriteString(e.line())
		}
	}
	r := analyze(t, Options{}, StringInput("apiserver-1", a.String()), StringInput("apiserver-2", b.String()))
	if r.Users[0].PeakInFlight != 2 || r.ClippedRequests != 0 {
		t.Errorf("peak %d clipped %d, want 2 and 0", r.Users[0].PeakInFlight, r.ClippedRequests)
	}
	// The load of each API server.
	if len(r.Inputs) != 2 || r.Inputs[0].Requests != 100 || r.Inputs[1].Requests != 100 || r.Inputs[0].QuerySeconds != 150 {
		t.Errorf("inputs = %+v", r.Inputs)
	}
}

func TestBadInput(t *testing.T) {
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	big := `{"kind":"Event","level":"RequestResponse","stage":"ResponseComplete","verb":"create","user":{"username":"big"},"requestObject":{"data":{"x":"` +
		strings.Repeat("y", 1<<20) + `"}},"requestReceivedTimestamp":"2024-05-13T09:00:00Z","stageTimestamp":"2024-05-13T09:00:01Z"}` + "\n"
	content := ok + "not json\n" + ok + "\n" + `{"verb":"get","stage":"ResponseComplete"}` + "\n" + big + `{"verb":"get","user":{"username":"x"` + "\n" + ok
	r := analyze(t, Options{ChunkSize: 64 << 10}, StringInput("plain.log", content))
	if r.Malformed != 2 || len(r.MalformedExamples) != 2 {
		t.Fatalf("malformed = %d %+v", r.Malformed, r.MalformedExamples)
	}
	if m := r.MalformedExamples[0]; m.File != "plain.log" || m.Line != 2 {
		t.Errorf("first malformed at %s:%d, want plain.log:2", m.File, m.Line)
	}
	if m := r.MalformedExamples[1]; m.Line != 7 {
		t.Errorf("second malformed at line %d, want 7", m.Line)
	}
	if r.Untimed != 1 || r.Total.Requests != 4 || r.Lines != 8 {
		t.Errorf("untimed %d requests %d lines %d", r.Untimed, r.Total.Requests, r.Lines)
	}

	// A truncated gzip keeps what was read and says where it stopped.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	for range 2000 {
		zw.Write([]byte(ok))
	}
	zw.Close()
	cut := z.Bytes()[:z.Len()/2]
	r = analyze(t, Options{}, Input{Name: "cut.log.gz", Size: int64(len(cut)), open: func() (ioReadCloser, error) { return nopCloser(bytes.NewReader(cut)), nil }})
	if len(r.Inputs) != 1 || !strings.Contains(r.Inputs[0].Truncated, "ends unexpectedly") {
		t.Fatalf("inputs = %+v", r.Inputs)
	}
	if r.Total.Requests < 100 || r.Total.Requests >= 2000 || r.Malformed != 0 {
		t.Errorf("kept %d requests and %d malformed from the truncated file", r.Total.Requests, r.Malformed)
	}
	if !strings.Contains(r.Inputs[0].Truncated, "line ") {
		t.Errorf("truncation message does not say where: %q", r.Inputs[0].Truncated)
	}
}

type ioReadCloser = io.ReadCloser

func nopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }

// One identity calling from many addresses is a per-node agent.
func TestSourcesPerUser(t *testing.T) {
	var log strings.Builder
	for i := range 300 {
		ip := fmt.Sprintf("10.64.%d.%d", i/250, i%250+1)
		log.WriteString(tev{user: "system:serviceaccount:kube-system:otel-collector", verb: "watch", resource: "pods", uri: "/api/v1/pods?watch=true",
			ips: []string{ip, "10.0.0.1"}, start: at(0), end: at(time.Minute)}.line())
	}
	log.WriteString(tev{user: "alice", verb: "get", resource: "pods", ips: []string{"192.168.1.1"}, start: at(0), end: at(time.Millisecond)}.line())
	r := analyze(t, Options{Workers: 2, ChunkSize: 4096}, StringInput("audit.log", log.String()))
	got := map[string]int{}
	for _, u := range r.Users {
		got[u.Name] = u.Sources
	}
	if got["system:serviceaccount:kube-system:otel-collector"] != 300 || got["alice"] != 1 {
		t.Errorf("sources = %v", got)
	}
	if ip := firstIP([]byte(` [ "10.1.2.3" , "x"]`)); string(ip) != "10.1.2.3" {
		t.Errorf("firstIP = %q", ip)
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 2, Bytes: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Analyze(ctx, []Input{StringInput("a", buf.String()), StringInput("b", buf.String())}, Options{ChunkSize: 4096})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Analyze with a cancelled context returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Analyze did not return after cancellation")
	}
}

// Cancelled in the middle (from the progress callback), with chunks in
// flight in every stage of the pipeline.
func TestAnalyzeCancelledMidway(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 2, Bytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		opts := Options{ChunkSize: 8192, Workers: 2, Progress: func(int64, int64) {
			if calls++; calls == 3 {
				cancel()
			}
		}}
		done := make(chan error, 1)
		go func() {
			_, err := Analyze(ctx, []Input{StringInput("a", buf.String()), StringInput("b", buf.String())}, opts)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("no error after cancellation")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Analyze did not return after cancellation")
		}
		cancel()
	}
}
