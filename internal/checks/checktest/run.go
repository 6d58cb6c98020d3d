package checktest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// Run runs c over every fixture in dir (one subtest per file) and fails on
// every fixture rule broken (see the package doc) and every way the findings
// differ from the fixture's wants or from c's declarations.
func Run(t *testing.T, c *check.Check, dir string) {
	t.Helper()
	files, err := Fixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	var fires, quiet int
	for _, file := range files {
		switch base := filepath.Base(file); {
		case strings.HasPrefix(base, "fires"):
			fires++
		case strings.HasPrefix(base, "quiet"):
			quiet++
		case strings.HasPrefix(base, "notrun"):
		default:
			t.Errorf("%s: fixture names start with fires, quiet or notrun", file)
		}
	}
	if fires == 0 || quiet == 0 {
		t.Errorf("check %s needs a fires*.yaml and a quiet*.yaml fixture in %s (have %d, %d)", c.ID, dir, fires, quiet)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			fx, err := Load(file, c.AllReads())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range Verify(c, fx) {
				t.Error(p)
			}
		})
	}
}

// Verify runs c over fx and returns what is wrong: a broken fixture rule, a
// want no finding matches, a finding no want matches, and what check.Run
// logs (a panic, a finding above c's declared severity or with evidence keys
// c does not declare).
func Verify(c *check.Check, fx *Fixture) []string {
	var bad []string
	base := filepath.Base(fx.Path)
	switch {
	case strings.HasPrefix(base, "fires") && len(fx.Wants) == 0:
		bad = append(bad, fmt.Sprintf("%s: a fires fixture must want at least one finding", fx.Path))
	case strings.HasPrefix(base, "quiet") && len(fx.Wants) != 0:
		bad = append(bad, fmt.Sprintf("%s: a quiet fixture must want no finding", fx.Path))
	case strings.HasPrefix(base, "notrun") && fx.NotRun == "":
		bad = append(bad, fmt.Sprintf("%s: a notrun fixture must say why with a notrun directive", fx.Path))
	}
	params := map[string]string{}
	for k, v := range fx.Params {
		params[c.ID+"."+k] = v
	}
	var log strings.Builder
	res, err := check.Run(context.Background(), fx.Snapshot, []*check.Check{c},
		check.Options{Baseline: fx.Baseline, Params: params, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		return append(bad, fmt.Sprintf("%s: %v", fx.Path, err))
	}
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if l != "" {
			bad = append(bad, fmt.Sprintf("%s: check.Run logged: %s", fx.Path, l))
		}
	}
	return append(bad, compare(fx, res)...)
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

// compare checks res against the fixture's expectations.
func compare(fx *Fixture, res *check.Result) []string {
	var bad []string
	if fx.NotRun != "" {
		if len(res.NotRun) != 1 || !strings.Contains(res.NotRun[0].Reason, fx.NotRun) {
			bad = append(bad, fmt.Sprintf("%s: want the check not run (%q), got ran=%v notRun=%+v", fx.Path, fx.NotRun, res.Ran, res.NotRun))
		}
	} else if len(res.NotRun) != 0 {
		bad = append(bad, fmt.Sprintf("%s: check did not run: %+v", fx.Path, res.NotRun))
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
			bad = append(bad, fmt.Sprintf("%s: no finding matches want %s", fx.Path, w))
		}
	}
	for i, f := range res.Findings {
		if !used[i] {
			bad = append(bad, fmt.Sprintf("%s: unexpected finding: %s %s %v: %s | %s | evidence %v", fx.Path, f.Severity, f.ID, f.Objects, f.Title, f.Message, f.Evidence))
		}
	}
	if len(bad) > 0 {
		for _, f := range res.Findings {
			bad = append(bad, fmt.Sprintf("got: %s %v: %s | %s | %v", f.Severity, f.Objects, f.Title, f.Message, f.Evidence))
		}
	}
	return bad
}
