package restart

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// A read without a workload kind fails; one without Nodes or PDBs (not
// readable or not served) plans with them recorded as skipped.
func TestPlanInput(t *testing.T) {
	all := map[snapshot.Resource]int{snapshot.Deployments: 1, snapshot.StatefulSets: 1, snapshot.DaemonSets: 1, snapshot.PodDisruptionBudgets: 1, snapshot.Nodes: 2,
		snapshot.BGPConfigurations: 1, snapshot.BGPPeers: 1}
	without := func(r snapshot.Resource) map[snapshot.Resource]int {
		m := map[snapshot.Resource]int{}
		for k, v := range all {
			if k != r {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name        string
		pages       map[snapshot.Resource]int
		skipped     []snapshot.Skipped
		wantErr     string
		wantSkipped map[snapshot.Resource]string
	}{
		{name: "everything read", pages: all},
		{name: "deployments forbidden", pages: all, skipped: []snapshot.Skipped{{Resource: snapshot.Deployments, Reason: "forbidden: no"}},
			wantErr: "list deployments.apps: forbidden: no"},
		{name: "statefulsets not served", pages: without(snapshot.StatefulSets), wantErr: "list statefulsets.apps: not served"},
		{name: "nodes forbidden", pages: all, skipped: []snapshot.Skipped{{Resource: snapshot.Nodes, Reason: "forbidden: no"}},
			wantSkipped: map[snapshot.Resource]string{snapshot.Nodes: "forbidden: no"}},
		{name: "pdbs not served", pages: without(snapshot.PodDisruptionBudgets),
			wantSkipped: map[snapshot.Resource]string{snapshot.PodDisruptionBudgets: "not served by the cluster"}},
		// No Calico: no window, and no error.
		{name: "calico not served", pages: without(snapshot.BGPPeers),
			wantSkipped: map[snapshot.Resource]string{snapshot.BGPPeers: "not served by the cluster"}},
		{name: "bgp peers forbidden", pages: all, skipped: []snapshot.Skipped{{Resource: snapshot.BGPPeers, Reason: "forbidden: no"}},
			wantSkipped: map[snapshot.Resource]string{snapshot.BGPPeers: "forbidden: no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &kube.ReadResult{Snapshot: &snapshot.Snapshot{Info: snapshot.Info{Skipped: tt.skipped}}, Pages: tt.pages}
			snap, err := planInput(res, slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range optionalKinds {
				reason, skipped := snap.Info.SkipReason(k)
				if want, ok := tt.wantSkipped[k]; skipped != ok || reason != want {
					t.Errorf("%s: skipped %v (%q), want %v (%q)", k.Name(), skipped, reason, ok, want)
				}
			}
		})
	}
}
