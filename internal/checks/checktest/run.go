package checktest

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// Run runs c over every fixture in dir (one subtest per file) and compares
// its findings with the fixture's wants: every want must match a finding and
// every finding a want.
func Run(t *testing.T, c *check.Check, dir string) {
	t.Helper()
	files, err := Fixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			fx, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(file)
			if strings.HasPrefix(base, "fires") && len(fx.Wants) == 0 {
				t.Fatalf("%s: a fires fixture must want at least one finding", file)
			}
			if strings.HasPrefix(base, "quiet") && len(fx.Wants) != 0 {
				t.Fatalf("%s: a quiet fixture must want no finding", file)
			}
			if strings.HasPrefix(base, "notrun") && fx.NotRun == "" {
				t.Fatalf("%s: a notrun fixture must say why with a notrun directive", file)
			}
			params := map[string]string{}
			for k, v := range fx.Params {
				params[c.ID+"."+k] = v
			}
			res, err := check.Run(context.Background(), fx.Snapshot, []*check.Check{c},
				check.Options{Baseline: fx.Baseline, Params: params})
			if err != nil {
				t.Fatal(err)
			}
			Compare(t, fx, res)
		})
	}
}

// Fixtures lists the fixture files of dir (baselines excluded), sorted.
func Fixtures(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.yaml", "*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			if !strings.Contains(filepath.Base(f), ".baseline.") {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Compare checks res against the fixture's expectations.
func Compare(t *testing.T, fx *Fixture, res *check.Result) {
	t.Helper()
	if fx.NotRun != "" {
		if len(res.NotRun) != 1 || !strings.Contains(res.NotRun[0].Reason, fx.NotRun) {
			t.Errorf("%s: want the check not run (%q), got ran=%v notRun=%+v", fx.Path, fx.NotRun, res.Ran, res.NotRun)
		}
	} else if len(res.NotRun) != 0 {
		t.Errorf("%s: check did not run: %+v", fx.Path, res.NotRun)
	}
	used := make([]bool, len(res.Findings))
	for _, w := range fx.Wants {
		found := false
		for i, f := range res.Findings {
			if !used[i] && w.Matches(f) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("%s: no finding matches want %s", fx.Path, w)
		}
	}
	for i, f := range res.Findings {
		if !used[i] {
			t.Errorf("%s: unexpected finding: %s %s %v: %s | %s | evidence %v", fx.Path, f.Severity, f.ID, f.Objects, f.Title, f.Message, f.Evidence)
		}
	}
	if t.Failed() {
		for _, f := range res.Findings {
			t.Logf("got: %s %v: %s | %s | %v", f.Severity, f.Objects, f.Title, f.Message, f.Evidence)
		}
	}
}
