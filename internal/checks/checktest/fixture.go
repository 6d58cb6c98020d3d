// Package checktest runs a check over fixture snapshots that carry their
// expected findings inline, so a check's test is one line:
//
//	func TestX(t *testing.T) { checktest.Run(t, X, "testdata/x") }
//
// A fixture is a kubectl List (YAML or JSON) whose leading comment lines are
// directives:
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
//
// Files whose names end in .baseline.yaml are baselines, not fixtures. Files
// named fires*.yaml must want findings; quiet*.yaml must want none;
// notrun*.yaml must carry a notrun directive.
//
// Pods and Nodes are trimmed to the fields the live read keeps, exactly as
// the read path trims them, so a check that relies on any other field fails
// its fixtures.
package checktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/check"
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

// Load reads a fixture file and its directives.
func Load(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	fx := &Fixture{Path: path, Params: map[string]string{}}
	now := DefaultNow
	var skipped []snapshot.Skipped
	baseline := ""
	var apiServer *snapshot.APIServer
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
		case "notrun":
			fx.NotRun = val
		case "want":
			w, err := parseWant(val)
			if err != nil {
				return nil, bad(err)
			}
			w.Line = line
			fx.Wants = append(fx.Wants, w)
		}
	}
	fx.Snapshot, err = Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fx.Snapshot.Info = snapshot.Info{Source: path, TakenAt: now, Skipped: skipped, APIServer: apiServer}
	if baseline != "" {
		bpath := filepath.Join(filepath.Dir(path), baseline)
		b, err := Load(bpath)
		if err != nil {
			return nil, err
		}
		fx.Baseline = b.Snapshot
	}
	return fx, nil
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
