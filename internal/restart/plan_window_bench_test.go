package restart

import (
	"testing"

	"github.com/premortem/premortem/internal/snapshot"
)

// BenchmarkPlan10kWindowPrepull is BenchmarkPlan10k with Calico's BGP kinds
// served (two peers) and --prepull: the window's warnings on typha and
// calico-node and a pre-pull for every critical Deployment (the figure in
// docs/benchmarks.md).
func BenchmarkPlan10kWindowPrepull(b *testing.B) {
	snap := benchSnapshot()
	snap.Info.Skipped = nil // served
	snap.BGPPeers = []snapshot.BGPPeer{bgpPeer("cr1", ""), bgpPeer("cr2", "90s")}
	opts := Options{RunID: "r-bench", Concurrency: 10, Prepull: true}
	var p *Plan
	for b.Loop() {
		var err error
		if p, err = NewPlan(snap, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if p.BGPWindow == nil || p.BGPWindow.Seconds != 90 {
		b.Fatalf("window %+v, want 90s", p.BGPWindow)
	}
	prepulls := 0
	for _, s := range p.Steps {
		if s.Prepull != nil {
			prepulls++
		}
	}
	b.ReportMetric(float64(prepulls), "prepulls")
}
