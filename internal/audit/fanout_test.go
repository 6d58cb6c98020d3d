package audit

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// fanOutLog generates a minute of a mid-size cluster's traffic with the
// deletions of wd on top.
func fanOutLog(t *testing.T, wd ...WebhookDeletes) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 7, Rate: 2000, Duration: time.Minute, WebhookDeletes: wd}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestFanOutKnownAnswer: on generated logs whose answer is known (every
// node-group DELETE sets off exactly Lists LISTs by the webhook's backend,
// among 2,000 other requests a second), audit reports that identity with
// that fan-out factor and nothing else, however the log is chunked, parsed
// or split between API servers.
func TestFanOutKnownAnswer(t *testing.T) {
	log := fanOutLog(t,
		WebhookDeletes{At: 5 * time.Second, Every: 4 * time.Second, Count: 8, Lists: 25},
		WebhookDeletes{At: 40 * time.Second, Every: 5 * time.Second, Count: 3, Lists: 41, Mutating: true})
	// Two API servers: every other line to each, so the LISTs of a burst
	// and their DELETE are often in different files.
	var a, b strings.Builder
	for i, line := range strings.SplitAfter(log, "\n") {
		if i%2 == 0 {
			a.WriteString(line)
		} else {
			b.WriteString(line)
		}
	}
	for _, tc := range []struct {
		name   string
		opts   Options
		inputs []Input
	}{
		{"one file", Options{}, []Input{StringInput("audit.log", log)}},
		{"small chunks, one worker", Options{ChunkSize: 8 << 10, Workers: 1}, []Input{StringInput("audit.log", log)}},
		{"small chunks, four workers", Options{ChunkSize: 8 << 10, Workers: 4}, []Input{StringInput("audit.log", log)}},
		{"two API servers", Options{ChunkSize: 64 << 10}, []Input{StringInput("a.log", a.String()), StringInput("b.log", b.String())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Analyze(context.Background(), tc.inputs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.FanOut) != 2 {
				t.Fatalf("fan-out rows: %+v, want 2 (the validating and the mutating webhook's deletions)", r.FanOut)
			}
			for _, want := range []struct {
				webhooks       []string
				deletes, lists int64
				factor         float64
			}{
				{nil, 8, 8 * 25, 25},
				{[]string{FanOutWebhook}, 3, 3 * 41, 41},
			} {
				i := slices.IndexFunc(r.FanOut, func(f FanOut) bool { return slices.Equal(f.Webhooks, want.webhooks) })
				if i < 0 {
					t.Fatalf("no row with webhooks %v: %+v", want.webhooks, r.FanOut)
				}
				f := r.FanOut[i]
				if f.User != FanOutBackend || f.Trigger != "delete nodegroups.nodegroups.example.com" || f.Deletes != want.deletes ||
					f.Bursts != want.deletes || f.Lists != want.lists || f.FanOutFactor != want.factor || f.MaxBurst != int64(want.factor) ||
					f.MayReadEtcd != want.lists {
					t.Errorf("row %+v, want %d deletes each with %v LISTs by %s", f, want.deletes, want.factor, FanOutBackend)
				}
				if len(f.Deleters) != 1 || f.Deleters[0].Name != FanOutDeleter || f.Deleters[0].Requests != want.deletes {
					t.Errorf("deleters %+v, want %s x%d", f.Deleters, FanOutDeleter, want.deletes)
				}
				if len(f.Listed) != 2 || f.Listed[0].Name != "pods" || f.Listed[1] != (NamedCount{Name: "nodes", Requests: want.deletes}) {
					t.Errorf("listed %+v, want pods then nodes x%d", f.Listed, want.deletes)
				}
				if f.PeakInFlight < 2 || f.UserLists != 8*25+3*41 {
					t.Errorf("peak %d (want parallel LISTs), user LISTs %d (want %d)", f.PeakInFlight, f.UserLists, 8*25+3*41)
				}
			}
		})
	}
}

// TestFanOutQuietWithoutWebhook: the same traffic without the deletions
// has deletes and LISTs aplenty and no fan-out.
func TestFanOutQuietWithoutWebhook(t *testing.T) {
	r, err := Analyze(context.Background(), []Input{StringInput("audit.log", fanOutLog(t))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.FanOut) != 0 {
		t.Errorf("fan-out in plain traffic: %+v", r.FanOut)
	}
}

func TestWebhooksOf(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{`{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC"}`, nil},
		{`{"mutation.webhook.admission.k8s.io/round_0_index_1":"{\"configuration\":\"c\",\"webhook\":\"w.example.com\",\"mutated\":false}"}`, []string{"c/w.example.com"}},
		{`{"failed-open.validating.webhook.admission.k8s.io/round_0_index_0":"v.example.com"}`, []string{"v.example.com (failed open)"}},
		{`{"protect.nodegroups.example.com/reason":"empty group","pod-security.kubernetes.io/enforce-policy":"restricted:latest"}`, []string{"protect.nodegroups.example.com"}},
		{`not json`, nil},
		{`{"guard.example.com/x":`, nil},
		{`{"guard.example.com/x":"y","mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"c\",\"web`, []string{"guard.example.com"}},
		{`{"g\u0075ard.example.com/k":"v"}`, []string{"guard.example.com"}},
		{`{"mutation.webhook.admission.k8s.io/round_0_index_0":"not json"}`, nil},
	} {
		if got := webhooksOf([]byte(tc.raw)); !slices.Equal(got, tc.want) {
			t.Errorf("webhooksOf(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// TestFanOutRendered: the table and the HTML page show the fan-out rows.
func TestFanOutRendered(t *testing.T) {
	r, err := Analyze(context.Background(), []Input{StringInput("audit.log",
		fanOutLog(t, WebhookDeletes{At: 5 * time.Second, Every: 4 * time.Second, Count: 4, Lists: 12, Mutating: true}))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text, page bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": text.String(), "html": page.String()} {
		// The page lets long user names break (<wbr> after colons): look
		// for the name's last part there.
		for _, want := range []string{"nodegroup-webhook", "delete nodegroups.nodegroups.example.com", "12.0", FanOutWebhook, FanOutDeleter + ":4"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", name, want)
			}
		}
	}
}
