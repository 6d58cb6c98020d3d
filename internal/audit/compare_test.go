package audit

import (
	"bytes"
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/golden"
)

// upgradeLogs returns GenerateUpgrade's two logs; the testdata copies the
// CLI's golden tests read must be what it writes (-update rewrites them).
func upgradeLogs(t *testing.T) (before, after string) {
	t.Helper()
	var b, a bytes.Buffer
	if err := GenerateUpgrade(&b, &a); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/upgrade-before.log", b.Bytes())
	golden.Check(t, "testdata/upgrade-after.log", a.Bytes())
	return b.String(), a.String()
}

// The known answer is GenerateUpgrade's doc: nodegroup-controller tripled
// (requests and query time ×3, peak 1 → 3), report-cron is gone,
// deletion-protection is new, everyone else is unchanged. Splitting one
// log set at a time gives the same answer as two log sets.
func TestCompareKnownAnswer(t *testing.T) {
	before, after := upgradeLogs(t)
	ctx := context.Background()
	twoSets, err := Compare(ctx, []Input{StringInput("before.log", before)}, Options{Top: 20},
		[]Input{StringInput("after.log", after)}, Options{Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	both := []Input{StringInput("all.log", before+after)}
	at := UpgradeAfter.Add(-time.Hour)
	split, err := Compare(ctx, both, Options{Top: 20, Until: at}, both, Options{Top: 20, Since: at})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Comparison{"two log sets": twoSets, "split at a time": split} {
		t.Run(name, func(t *testing.T) {
			const nodegroup = "system:serviceaccount:nodegroups:nodegroup-controller"
			if c.PerHour {
				t.Errorf("PerHour = true for two spans of %v and %v", c.Before.Seconds, c.After.Seconds)
			}
			if c.Before.Requests != 60+60+12+20+10 || c.After.Requests != 60+60+12+60+30 {
				t.Errorf("requests before %d after %d", c.Before.Requests, c.After.Requests)
			}
			names := func(cs []Change) []string {
				var out []string
				for _, ch := range cs {
					out = append(out, ch.Name)
				}
				return out
			}
			wantOrder := []string{nodegroup, "system:serviceaccount:nodegroups:deletion-protection", "system:serviceaccount:ops:report-cron", "alice", "system:node:worker-1", "toolschecker"}
			if got := names(c.Users); !slices.Equal(got, wantOrder) {
				t.Errorf("users %q, want %q", got, wantOrder)
			}
			if got := names(c.New); !slices.Equal(got, []string{"system:serviceaccount:nodegroups:deletion-protection"}) || c.NewCount != 1 {
				t.Errorf("new %q (%d)", got, c.NewCount)
			}
			if got := names(c.Gone); !slices.Equal(got, []string{"system:serviceaccount:ops:report-cron"}) || c.GoneCount != 1 {
				t.Errorf("gone %q (%d)", got, c.GoneCount)
			}
			if got := names(c.GrewMost); !slices.Equal(got, []string{nodegroup}) {
				t.Fatalf("grew most %q", got)
			}
			g := c.GrewMost[0]
			if g.Before.Requests != 20 || g.After.Requests != 60 || !near(g.RequestsRatio, 3) || !near(g.QueryTimeRatio, 3) ||
				!near(g.Before.QuerySeconds, 2) || !near(g.After.QuerySeconds, 6) || g.Before.PeakInFlight != 1 || g.After.PeakInFlight != 3 || g.PeakChange != 2 {
				t.Errorf("nodegroup-controller %+v", g)
			}
			vr := map[string]Change{}
			for _, ch := range c.VerbResources {
				vr[ch.Name] = ch
			}
			if lp := vr["list pods"]; lp.Before.PeakInFlight != 1 || lp.After.PeakInFlight != 3 || !near(lp.QueryTimeRatio, 3) || lp.Status != "" {
				t.Errorf("list pods %+v", lp)
			}
			if ln := vr["list nodes"]; ln.Before.Requests != 12 || ln.After.Requests != 42 || ln.After.PeakInFlight != 1 || !near(ln.RequestsRatio, 3.5) {
				t.Errorf("list nodes %+v", ln)
			}
			if cj := vr["create jobs.batch"]; cj.Status != "gone" || cj.Before.Requests != 10 || cj.After.Requests != 0 {
				t.Errorf("create jobs.batch %+v", cj)
			}
			if gp := vr["get pods"]; gp.Before != gp.After || !near(gp.RequestsRatio, 1) || gp.MeanInFlightDelta != 0 {
				t.Errorf("get pods %+v", gp)
			}
			if c.VerbResources[0].Name != "list pods" {
				t.Errorf("largest verb and resource change %q, want list pods", c.VerbResources[0].Name)
			}
		})
	}
}

// Periods of different lengths are compared by rate: the same traffic
// over half the time is no change.
func TestComparePerHour(t *testing.T) {
	before, _ := upgradeLogs(t)
	ctx := context.Background()
	in := []Input{StringInput("before.log", before)}
	half := UpgradeBefore.Add(30 * time.Minute)
	c, err := Compare(ctx, in, Options{}, in, Options{Until: half})
	if err != nil {
		t.Fatal(err)
	}
	if !c.PerHour {
		t.Fatalf("PerHour false for spans %v and %v", c.Before.Seconds, c.After.Seconds)
	}
	for _, ch := range c.Users {
		if ch.Name == "alice" && (ch.Before.Requests != 60 || ch.After.Requests != 30 || math.Abs(ch.RequestsRatio-1) > 0.05) {
			t.Errorf("alice %+v", ch)
		}
	}
	if len(c.GrewMost) > 0 && c.GrewMost[0].MeanInFlightDelta > 1e-4 {
		t.Errorf("grew most %+v: the same traffic at the same rate", c.GrewMost[0])
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
