package checks

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/checktest"
	"github.com/premortem/premortem/internal/kube"
)

// TestFixturesThroughSnapshotLoader loads every fixture a second time with
// the loader `scan --snapshot` uses and checks the findings are the same, so
// the fixtures' small test loader cannot drift from the real read path
// (trimming, the APIService conversion, metadata-only kinds).
func TestFixturesThroughSnapshotLoader(t *testing.T) {
	for _, c := range All() {
		files, err := checktest.Fixtures(fixtureDir(t, c.ID))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			fx, err := checktest.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			lr, err := kube.Load([]string{f}, c.AllReads())
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(lr.Problems) > 0 {
				t.Errorf("%s: snapshot loader problems: %v", f, lr.Problems)
			}
			real := lr.Snapshot
			real.Info = fx.Snapshot.Info // what was "read" is the fixture's to say
			params := map[string]string{}
			for k, v := range fx.Params {
				params[c.ID+"."+k] = v
			}
			opts := check.Options{Baseline: fx.Baseline, Params: params}
			want, err := check.Run(context.Background(), fx.Snapshot, []*check.Check{c}, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := check.Run(context.Background(), real, []*check.Check{c}, opts)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(want)
			b, _ := json.Marshal(got)
			if string(a) != string(b) {
				t.Errorf("%s: findings differ between the test loader and kube.Load:\ntest: %s\nkube: %s", f, a, b)
			}
		}
	}
}
