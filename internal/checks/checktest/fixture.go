// Package checktest runs a check over fixture snapshots that carry their
// expected findings inline. The catalog test runs every check's fixtures
// through Run, once each:
//
//	checktest.Run(t, c, "access/testdata/"+c.ID)
//
// A fixture is kubectl output (a List, YAML or JSON), loaded with kube.Load
// exactly as `scan --snapshot` loads it (trimming, metadata-only kinds),
// whose leading comment lines are directives:
//
//	# now: 2026-11-21T10:00:00Z          the scan time (default DefaultNow)
//	# param: max-per-namespace=3          a parameter of the check under test
//	# baseline: older.yaml                 a baseline snapshot (relative path)
//	# skipped: secrets forbidden: ...      a kind the read could not list
//	# want: high Namespace ci-7 ~ 12m ~ finalizer   a finding: severity, first
//	                                       object, substrings of title, message
//	                                       or evidence (JSON)
//	# want: medium - ~ pods                a finding that names no object
//	# apiserver: {"server": "https://10.0.0.1:6443", "certificate": {"dnsNames": [...]}}
//	                                       what the live read recorded of the API server
//	# notrun: needs --baseline             the check must not run, for this reason
//	# serverversion: v1.31.2               the API server's version the read recorded
//
// Files whose names end in .baseline.yaml are baselines, not fixtures. Every
// other file is named fires*, quiet* or notrun*: fires* must want findings,
// quiet* must want none, notrun* must carry a notrun directive; each check
// has at least one fires and one quiet fixture.
package checktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// DefaultNow is the scan time of a fixture without a "now" directive.
var DefaultNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// Fixture is one loaded fixture file.
type Fixture struct {
	Path     string
	Snapshot *snapshot.Snapshot
	Baseline *snapshot.Snapshot
	Params   map[string]string // unqualified parameter names
	Wants    []Want
	NotRun   string // expected NotRun reason (substring), if any
}

// Want is one expected finding.
type Want struct {
	Severity check.Severity
	Object   string   // first object, as check.Object.String renders it
	Contains []string // substrings of title, message or evidence JSON
	Line     int
}

// Load reads a fixture file and its directives. extra are the kinds beyond
// premortem's own the check reads (check.Check.AllReads), as for kube.Load.
func Load(path string, extra []snapshot.Resource) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	fx := &Fixture{Path: path, Params: map[string]string{}}
	now := DefaultNow
	var skipped []snapshot.Skipped
	baseline := ""
	var apiServer *snapshot.APIServer
	var counts []snapshot.Count
	serverVersion := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "#") {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(text, "#")), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		bad := func(err error) error { return fmt.Errorf("%s:%d: %s: %w", path, line, key, err) }
		switch key {
		case "now":
			if now, err = time.Parse(time.RFC3339, val); err != nil {
				return nil, bad(err)
			}
		case "param":
			k, v, ok := strings.Cut(val, "=")
			if !ok {
				return nil, bad(fmt.Errorf("want name=value"))
			}
			fx.Params[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case "baseline":
			baseline = val
		case "skipped":
			res, reason, _ := strings.Cut(val, " ")
			r, err := resourceByName(res)
			if err != nil {
				return nil, bad(err)
			}
			skipped = append(skipped, snapshot.Skipped{Resource: r, Reason: reason})
		case "apiserver":
			// # apiserver: {"server": "https://...", "certificate": {...}}
			// what a live read recorded of the API server (snapshot.APIServer).
			apiServer = &snapshot.APIServer{}
			if err := json.Unmarshal([]byte(val), apiServer); err != nil {
				return nil, bad(err)
			}
		case "count":
			// # count: widgets.example.com Widget 250000 [namespaced]
			// a count of a kind not read (snapshot Info.Counts).
			f := strings.Fields(val)
			if len(f) < 3 {
				return nil, bad(fmt.Errorf("want <resource.group> <Kind> <count> [namespaced]"))
			}
			n, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return nil, bad(err)
			}
			res, group, _ := strings.Cut(f[0], ".")
			counts = append(counts, snapshot.Count{Resource: snapshot.Resource{Group: group, Version: "v1", Resource: res, Kind: f[1]},
				Namespaced: len(f) > 3 && f[3] == "namespaced", Count: n})
		case "notrun":
			fx.NotRun = val
		case "serverversion":
			serverVersion = val
		case "want":
			w, err := parseWant(val)
			if err != nil {
				return nil, bad(err)
			}
			w.Line = line
			fx.Wants = append(fx.Wants, w)
		}
	}
	lr, err := kube.Load([]string{path}, extra)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	if len(lr.Problems) > 0 {
		return nil, fmt.Errorf("load fixture: %w", errors.Join(problems(lr.Problems)...))
	}
	if len(lr.Ignored) > 0 {
		// A kind no check reads (or a typo) would make a quiet fixture
		// pass for the wrong reason.
		return nil, fmt.Errorf("load fixture %s: kinds premortem does not read: %v", path, lr.Ignored)
	}
	fx.Snapshot = lr.Snapshot
	// What was read, and when, is the fixture's to say.
	fx.Snapshot.Info = snapshot.Info{Source: path, TakenAt: now, Skipped: skipped, APIServer: apiServer, ServerVersion: serverVersion, Counts: counts}
	if baseline != "" {
		bpath := filepath.Join(filepath.Dir(path), baseline)
		b, err := Load(bpath, extra)
		if err != nil {
			return nil, err
		}
		fx.Baseline = b.Snapshot
	}
	return fx, nil
}

func problems(ps []kube.Problem) []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// resourceByName finds a kind premortem reads by its kubectl name ("pods",
// "networkpolicies.networking.k8s.io").
func resourceByName(name string) (snapshot.Resource, error) {
	for _, r := range kube.AllResources() {
		if r.Name() == name {
			return r, nil
		}
	}
	return snapshot.Resource{}, fmt.Errorf("unknown resource %q", name)
}

func parseWant(val string) (Want, error) {
	parts := strings.Split(val, "~")
	head := strings.Fields(parts[0])
	if len(head) == 2 && head[1] == "-" {
		head = append(head, "")
	}
	if len(head) < 3 {
		return Want{}, fmt.Errorf("want %q: need <severity> <Kind> [<namespace>/]<name>", val)
	}
	sev, err := check.ParseSeverity(head[0])
	if err != nil {
		return Want{}, err
	}
	w := Want{Severity: sev, Object: strings.TrimSpace(strings.Join(head[1:], " "))}
	for _, p := range parts[1:] {
		if s := strings.TrimSpace(p); s != "" {
			w.Contains = append(w.Contains, s)
		}
	}
	return w, nil
}

// Matches reports whether f is the finding w describes.
func (w Want) Matches(f check.Finding) bool {
	if f.Severity != w.Severity {
		return false
	}
	if w.Object == "-" {
		if len(f.Objects) != 0 {
			return false
		}
	} else if len(f.Objects) == 0 || f.Objects[0].String() != w.Object {
		return false
	}
	ev, _ := json.Marshal(f.Evidence)
	hay := f.Title + "\n" + f.Message + "\n" + string(ev)
	for _, s := range w.Contains {
		if !strings.Contains(hay, s) {
			return false
		}
	}
	return true
}

func (w Want) String() string {
	s := fmt.Sprintf("line %d: %s %s", w.Line, w.Severity, w.Object)
	for _, c := range w.Contains {
		s += " ~ " + c
	}
	return s
}
