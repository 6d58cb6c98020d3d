package audit

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// fourDays is a log of four quiet days with 30-second LIST storms at the
// given offsets from its start (incident 004: the cascade came four days
// after the delete).
func fourDays(t *testing.T, storms ...time.Duration) string {
	t.Helper()
	o := GenerateOptions{Seed: 4, Rate: 0.01, Duration: 96 * time.Hour, Start: time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)}
	for _, at := range storms {
		o.Storms = append(o.Storms, Storm{At: at, Length: 30 * time.Second, Rate: 100})
	}
	var b bytes.Buffer
	if _, err := Generate(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestBursts(t *testing.T) {
	start := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	const storm = "system:serviceaccount:nodegroups:nodegroup-controller"
	for _, tc := range []struct {
		name   string
		storms []time.Duration
	}{
		{"none", nil},
		{"at the start, days later, at the end", []time.Duration{3 * time.Minute, 70 * time.Hour, 96*time.Hour - 2*time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := analyze(t, Options{}, StringInput("a", fourDays(t, tc.storms...)))
			tl := r.Timeline
			if tl.StepSeconds != 480 {
				t.Fatalf("overview step %ds, want 480 (four days in 720 steps)", tl.StepSeconds)
			}
			if len(tl.Bursts) != len(tc.storms) {
				t.Fatalf("%d bursts, want %d: %+v", len(tl.Bursts), len(tc.storms), tl.Bursts)
			}
			for i, b := range tl.Bursts {
				at := start.Add(tc.storms[i])
				// The storm's requests complete from its start to 30 s on.
				if b.From.After(at) || b.To.Before(at.Add(30*time.Second)) || b.To.Sub(b.From) > 2*time.Minute {
					t.Errorf("burst %d: %s to %s, want the minutes of %s to %s", i+1, b.From, b.To, at, at.Add(30*time.Second))
				}
				if b.Requests < 2500 {
					t.Errorf("burst %d: %d requests, want the storm's 3,000 or so", i+1, b.Requests)
				}
				w := b.Window
				if w.StepSeconds != 60 || w.Steps < 11 || w.Steps > 23 || w.Start.After(b.From) || w.Start.Add(time.Duration(w.Steps)*time.Minute).Before(b.To) {
					t.Errorf("burst %d: window %s, %d steps of %ds; want the burst's minutes and up to ten either side", i+1, w.Start, w.Steps, w.StepSeconds)
				}
				if len(w.Series) == 0 || w.Series[0].User != storm {
					t.Fatalf("burst %d: series %v, want %s first", i+1, w.Series, storm)
				}
				k := int(b.From.Sub(w.Start) / time.Minute)
				if q := w.Series[0].QuerySeconds[k]; q < 1000 {
					t.Errorf("burst %d: the storm's minute has %.0f query seconds", i+1, q)
				}
				if p := slicesMax(w.Series[0].PeakInFlight); p < 50 {
					t.Errorf("burst %d: peak in flight %d", i+1, p)
				}
			}
		})
	}
}

// A log of a few minutes is drawn a minute a step: no bursts.
func TestNoBurstsInShortLogs(t *testing.T) {
	var b bytes.Buffer
	if _, err := Generate(&b, GenerateOptions{Seed: 4, Rate: 1, Duration: 90 * time.Minute, Storms: []Storm{{At: 30 * time.Minute, Length: 30 * time.Second}}}); err != nil {
		t.Fatal(err)
	}
	if r := analyze(t, Options{}, StringInput("a", b.String())); len(r.Timeline.Bursts) != 0 {
		t.Errorf("bursts in a 90-minute log: %+v", r.Timeline.Bursts)
	}
}

func slicesMax(xs []int32) int32 {
	var m int32
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// BenchmarkFindBursts: the per-minute scan over a four-day log of 400
// kubelets and 100 other users active every minute (2.9 million cells),
// with one storm: what a long log adds to building the report.
func BenchmarkFindBursts(b *testing.B) {
	const minutes, users = 4 * 24 * 60, 500
	p := newPartial(newRegistry())
	c := &consumer{sweep: &sweep{}}
	for i := range users {
		u := &userAgg{id: uint32(i), timeline: make(map[int64]*minuteLoad, minutes)}
		for m := range int64(minutes) {
			u.timeline[m] = &minuteLoad{Requests: 2, QueryNanos: 5e6}
		}
		p.users[fmt.Sprintf("user-%d", i)] = u
		c.sweep.users = append(c.sweep.users, userFlight{minutes: map[int64]int32{}})
	}
	p.users["user-7"].timeline[3000].QueryNanos = 5000e9
	b.ResetTimer()
	for b.Loop() {
		if got := findBursts(p, c, 0, minutes); len(got) != 1 {
			b.Fatalf("%d bursts, want 1", len(got))
		}
	}
}
