package checks

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/checktest"
)

// The IDs are a contract with users (--only, --skip, params) and the scan
// command: changing one is a breaking change.
var wantIDs = []string{
	"apiservice-unavailable", "namespace-stuck-terminating", "object-count-thresholds", "object-growth",
	"jobs-without-ttl", "helm-release-per-run", "networkpolicy-sprawl", "system-daemonset-unready",
	"critical-single-replica", "typha-replicas", "node-version-drift", "node-not-ready",
	"cluster-wide-node-agent", "hardcoded-apiserver-address", "apiserver-endpoints-mismatch",
	"apf-shared-priority-level", "apiserver-cert-names",
	"webhook-backend-down", "webhook-blocks-recovery", "webhook-slow-on-leases", "webhook-ca-expiry", "webhook-delete-fanout",
	// network
	"system-service-no-endpoints", "cluster-dns-replicas", "service-cidr-exhaustion",
	"control-plane-leader-stale", "node-pressure", "kubelet-version-skew", "nodes-cordoned",
	// capacity
	"container-oom-killed", "pods-unschedulable", "pdb-blocks-eviction", "hpa-cannot-scale",
	"resourcequota-near-limit", "rollout-progress-deadline-exceeded", "liveness-probe-hair-trigger",
	"replicas-on-one-node", "critical-workload-no-priority", "cni-headroom",
	// rollout
	"system-workload-crashlooping", "network-daemonset-taint-gap", "critical-workload-outranked",
	"critical-deployment-recreate", "critical-image-pull-always",
	// etcd
	"configmap-near-size-limit", "replicaset-history", "helm-release-history", "churn-without-quota",
}

func TestCatalogIDs(t *testing.T) {
	var got []string
	for _, c := range All() {
		got = append(got, c.ID)
	}
	if !slices.Equal(got, wantIDs) {
		t.Errorf("catalog IDs = %v, want %v", got, wantIDs)
	}
}

func TestCatalogValid(t *testing.T) {
	if err := check.Validate(All()); err != nil {
		t.Error(err)
	}
}

// fixtureDir finds a check's fixtures: internal/checks/<area>/testdata/<id>.
func fixtureDir(t *testing.T, id string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("*", "testdata", id))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 {
		t.Fatalf("check %s: want one fixture directory */testdata/%s, found %v", id, id, dirs)
	}
	return dirs[0]
}

// TestCatalogFixtures runs every check's fixtures, each once: checktest.Run
// owns the fixture rules and the contract between a check's declaration
// and its findings. One check: go test ./internal/checks -run 'TestCatalogFixtures/<id>'.
func TestCatalogFixtures(t *testing.T) {
	for _, c := range All() {
		t.Run(c.ID, func(t *testing.T) { checktest.Run(t, c, fixtureDir(t, c.ID)) })
	}
}

// TestFixtureDirs fails on a fixture directory no check owns: its fixtures
// would never run.
func TestFixtureDirs(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("*", "testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := Lookup(filepath.Base(d)); !ok {
			t.Errorf("%s: no check with ID %s", d, filepath.Base(d))
		}
	}
}

func TestSelect(t *testing.T) {
	ids := func(cs []*check.Check) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		name       string
		only, skip []string
		want       []string
		wantErr    string
	}{
		{name: "all", want: wantIDs},
		{name: "only keeps catalog order", only: []string{"node-not-ready", "typha-replicas"}, want: []string{"typha-replicas", "node-not-ready"}},
		{name: "skip", skip: wantIDs[1:], want: wantIDs[:1]},
		{name: "only and skip", only: []string{"object-growth", "jobs-without-ttl"}, skip: []string{"object-growth"}, want: []string{"jobs-without-ttl"}},
		{name: "unknown only", only: []string{"typha-replica"}, wantErr: "unknown check ID(s) typha-replica"},
		{name: "unknown skip", skip: []string{"nope"}, wantErr: "unknown check ID(s) nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.only, tt.skip)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("got %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if c, ok := Lookup("typha-replicas"); !ok || c.ID != "typha-replicas" {
		t.Errorf("Lookup(typha-replicas) = %v, %v", c, ok)
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found a check")
	}
}

// The error for an unknown ID (scan --only/--skip, checks explain) names
// every check, so the user can pick the right one.
func TestSelectUnknownListsEveryID(t *testing.T) {
	_, err := Select([]string{"typha"}, nil)
	if err == nil {
		t.Fatal("unknown ID accepted")
	}
	for _, id := range wantIDs {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not name %s", err, id)
		}
	}
}
