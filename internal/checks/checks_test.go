package checks

import (
	"context"
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

// TestCatalogFixtures fails when a check lacks a fixture that fires or one
// that stays quiet, runs every fixture, and checks that a finding more
// severe than the check's declared severity is explained in its doc.
func TestCatalogFixtures(t *testing.T) {
	for _, c := range All() {
		t.Run(c.ID, func(t *testing.T) {
			dir := fixtureDir(t, c.ID)
			files, err := checktest.Fixtures(dir)
			if err != nil {
				t.Fatal(err)
			}
			var fires, quiet int
			for _, f := range files {
				switch base := filepath.Base(f); {
				case strings.HasPrefix(base, "fires"):
					fires++
				case strings.HasPrefix(base, "quiet"):
					quiet++
				case strings.HasPrefix(base, "notrun"):
				default:
					t.Errorf("%s: fixture names start with fires, quiet or notrun", f)
				}
				fx, err := checktest.Load(f)
				if err != nil {
					t.Fatal(err)
				}
				params := map[string]string{}
				for k, v := range fx.Params {
					params[c.ID+"."+k] = v
				}
				res, err := check.Run(context.Background(), fx.Snapshot, []*check.Check{c}, check.Options{Baseline: fx.Baseline, Params: params})
				if err != nil {
					t.Fatal(err)
				}
				checktest.Compare(t, fx, res)
				// `checks list` shows the declared severity; a check that
				// reports above it must say when in its doc.
				declared := map[string]bool{}
				for _, e := range c.Evidence {
					declared[e.Name] = true
				}
				for _, finding := range res.Findings {
					for k := range finding.Evidence {
						if len(c.Evidence) > 0 && !declared[k] {
							t.Errorf("%s: evidence key %q is not declared in the check's Evidence (it is part of the JSON schema)", f, k)
						}
					}
					if finding.Severity > c.Severity && !strings.Contains(strings.ToLower(c.Doc), finding.Severity.String()) {
						t.Errorf("%s: finding severity %s above the check's declared %s, and its doc does not say when", f, finding.Severity, c.Severity)
					}
				}
			}
			if fires == 0 || quiet == 0 {
				t.Errorf("check %s needs a fires*.yaml and a quiet*.yaml fixture in %s (have %d, %d)", c.ID, dir, fires, quiet)
			}
		})
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
