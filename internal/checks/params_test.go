package checks

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/checktest"
)

// extremes are the values every parameter of a type is tried with: its
// minimum, one, and the largest the type holds (or near it). Text
// parameters get an empty list and a junk one.
func extremes(p check.Param) []string {
	least := p.Min
	switch p.Type {
	case check.Int:
		return []string{cmpOr(least, "0"), "1", "9223372036854775807"}
	case check.Float:
		return []string{cmpOr(least, "0"), "1", "1e308"}
	case check.Duration:
		return []string{cmpOr(least, "0s"), "1ns", "2562047h"}
	}
	return []string{"", ",,, ,", "\x1b[2J\n/"}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestParamsNeverPanic runs every check over its fixtures with each
// parameter at each extreme, and with all of them at one extreme at once:
// a check may find more or less, or refuse a junk text parameter with an
// error, but it never panics.
func TestParamsNeverPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every fixture many times")
	}
	for _, c := range All() {
		t.Run(c.ID, func(t *testing.T) {
			var sets []map[string]string
			for i := range 3 {
				all := map[string]string{}
				for _, p := range c.Params {
					v := extremes(p)[i]
					sets = append(sets, map[string]string{c.ID + "." + p.Name: v})
					all[c.ID+"."+p.Name] = v
				}
				sets = append(sets, all)
			}
			files, err := checktest.Fixtures(fixtureDir(t, c.ID))
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range files {
				fx, err := checktest.Load(file, c.AllReads())
				if err != nil {
					t.Fatal(err)
				}
				for _, params := range sets {
					var log strings.Builder
					res, err := check.Run(context.Background(), fx.Snapshot, []*check.Check{c},
						check.Options{Baseline: fx.Baseline, Params: params, Now: checktest.DefaultNow, Log: slog.New(slog.NewTextHandler(&log, nil))})
					if err != nil {
						t.Fatalf("%s %v: %v", file, params, err)
					}
					for _, n := range res.NotRun {
						if strings.Contains(n.Reason, "panic") {
							t.Errorf("%s %v: %s", file, params, n.Reason)
						}
					}
					if strings.Contains(log.String(), "panicked") {
						t.Errorf("%s %v: %s", file, params, log.String())
					}
				}
			}
		})
	}
}

// TestParamsRefuseNegative: no parameter of the catalog takes a negative
// number or duration, NaN or an infinity, or a value below its minimum.
func TestParamsRefuseNegative(t *testing.T) {
	for _, c := range All() {
		for _, p := range c.Params {
			var bad []string
			switch p.Type {
			case check.Int:
				bad = []string{"-1"}
			case check.Float:
				bad = []string{"-0.5", "NaN", "Inf", "-Inf"}
			case check.Duration:
				bad = []string{"-1s"}
			}
			if p.Min == "1" {
				bad = append(bad, "0")
			}
			for _, v := range bad {
				key := c.ID + "." + p.Name
				if _, err := check.Run(context.Background(), nil, []*check.Check{c}, check.Options{Params: map[string]string{key: v}}); err == nil {
					t.Errorf("%s=%s accepted", key, v)
				}
			}
		}
	}
}
