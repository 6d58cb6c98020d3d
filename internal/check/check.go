// Package check defines what a premortem check is, what it finds, and how a
// set of checks runs over a snapshot. It imports no client: a check is a pure
// function of a snapshot, so the same findings come from a live read and
// from a file.
package check

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
)

// Object names one Kubernetes object a finding is about.
type Object struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the object the way the reports show it: "Kind ns/name", or
// "Kind name" for cluster-scoped objects.
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Finding is one latent condition a check found.
type Finding struct {
	ID       string   `json:"id"` // the check's ID
	Severity Severity `json:"severity"`
	// Title is one short line (the table shows only this).
	Title string `json:"title"`
	// Message says what was found and why it matters, in full sentences.
	Message string   `json:"message"`
	Objects []Object `json:"objects"`
	// Evidence holds the numbers and fields that triggered the finding.
	Evidence map[string]any `json:"evidence"`
	// Incidents are the IDs of the public incidents this resembles, e.g.
	// "004": see internal/incident and docs/incidents.md.
	Incidents   []string `json:"incidents"`
	Remediation string   `json:"remediation"`
}

// ParamType is the type of a check parameter's value.
type ParamType string

// Parameter types.
const (
	Int      ParamType = "int"
	Float    ParamType = "float"
	Duration ParamType = "duration" // Go syntax: 10m, 1h30m
	Text     ParamType = "string"
)

// Param declares one tunable of a check. Users set it as
// Options.Params["<check-id>.<name>"] (scan --param).
type Param struct {
	Name    string
	Type    ParamType
	Default string
	Doc     string
	// Min is the smallest value accepted, in the parameter's syntax ("1",
	// "0.5", "1m"). A number or duration is never negative: an empty Min
	// is zero. (A text parameter has no minimum.)
	Min string
}

// parse parses a value of p's type and checks it against p's minimum.
// NaN and infinities are not numbers a check can compare with.
func (p Param) parse(v string) (any, error) {
	val, err := parseValue(p.Type, v)
	if err != nil || p.Type == Text {
		return val, err
	}
	floor := p.Min
	if floor == "" {
		floor = "0"
		if p.Type == Duration {
			floor = "0s"
		}
	}
	least, err := parseValue(p.Type, floor)
	if err != nil {
		return nil, fmt.Errorf("minimum: %w", err)
	}
	if below(val, least) {
		return nil, fmt.Errorf("%q is below the minimum %s", v, floor)
	}
	return val, nil
}

func parseValue(t ParamType, v string) (any, error) {
	switch t {
	case Int:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		return n, nil
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a finite number", v)
		}
		return f, nil
	case Duration:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (e.g. 10m, 2h)", v)
		}
		return d, nil
	case Text:
		return v, nil
	}
	return nil, fmt.Errorf("unknown parameter type %q", t)
}

// below reports whether v < least, both of one parsed type.
func below(v, least any) bool {
	switch v := v.(type) {
	case int:
		return v < least.(int)
	case float64:
		return v < least.(float64)
	case time.Duration:
		return v < least.(time.Duration)
	}
	return false
}

// Check is one declarative entry of the catalog.
type Check struct {
	// ID is stable and kebab-case; users select checks and set params by it.
	ID       string
	Title    string
	Category string
	// Severity is the highest severity the check reports, except under its
	// Escalation. Run reports a finding above MaxSeverity at MaxSeverity and
	// logs it: that is a bug in the check.
	Severity Severity
	// Escalation, when set, is the condition under which the check reports
	// above Severity.
	Escalation *Escalation
	// Incidents are the IDs of the incidents the check comes from ("001",
	// "004"); each must be in the table of internal/incident.
	Incidents []string
	// Reads are the kinds the check cannot run without: if one was not read
	// (snapshot Info.Skipped), the check is not run and the scan is incomplete.
	Reads []snapshot.Resource
	// Optional are kinds the check uses when they were read (a CRD the cluster
	// may not serve, extra evidence); a read path should still fetch them.
	Optional []snapshot.Resource
	// Counts says the check uses snapshot Info.Counts: the object count of
	// every served kind not read, custom resources included, one limit=1
	// LIST each (kube.Reader.Count; it needs snapshot.APIServices read).
	Counts bool
	// Doc is the rationale: what the check looks for and why it matters.
	Doc         string
	Remediation string
	Params      []Param
	// Evidence documents the keys of its findings' evidence: part of the -o
	// json schema. Every check declares them; Run logs a finding with an
	// undeclared key as a bug in the check (the key is kept).
	Evidence []EvidenceKey
	Run      func(*Pass) error
}

// Escalation declares when a check reports above its Severity.
type Escalation struct {
	To Severity
	// When is the condition, as the reference docs show it after "when":
	// "the serving certificate has expired".
	When string
}

// MaxSeverity returns the highest severity c may report.
func (c *Check) MaxSeverity() Severity {
	if c.Escalation != nil && c.Escalation.To > c.Severity {
		return c.Escalation.To
	}
	return c.Severity
}

// EvidenceKey documents one top-level key of a finding's evidence.
type EvidenceKey struct {
	Name string
	Doc  string
}

// AllReads returns Reads followed by Optional: what a read path should fetch
// for this check.
func (c *Check) AllReads() []snapshot.Resource {
	return append(append([]snapshot.Resource(nil), c.Reads...), c.Optional...)
}

// Param returns the declared parameter called name.
func (c *Check) Param(name string) (Param, bool) {
	for _, p := range c.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Options tune a run.
type Options struct {
	// Baseline is an earlier snapshot, for checks that compare (object-growth).
	Baseline *snapshot.Snapshot
	// Params override check parameters, keyed "<check-id>.<param>".
	Params map[string]string
	// Now is the time ages are measured against; zero means the snapshot's
	// TakenAt (so a saved snapshot gives the same ages every time it is
	// scanned), or the wall clock if that is unknown too.
	Now time.Time
	// Log receives what a user should know but a Result cannot say: a check
	// that panicked (with its stack). Nil discards.
	Log *slog.Logger
}

// NotRun records a check that did not run.
type NotRun struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	// Incomplete is true when the check could not run for lack of data or
	// because it failed; such a result is incomplete. It is false when the
	// check does not apply (object-growth without a baseline).
	Incomplete bool `json:"incomplete,omitempty"`
}

// Result is the outcome of running checks over a snapshot.
type Result struct {
	Info     snapshot.Info `json:"info"`
	Findings []Finding     `json:"findings"`
	Ran      []string      `json:"ran"`
	NotRun   []NotRun      `json:"notRun"`
	// Accepted are findings a user reviewed and accepted (internal/accept):
	// out of Findings and of --fail-on, but still reported.
	Accepted []Accepted `json:"accepted,omitempty"`
}

// Accepted is an accepted finding, with what accepted it and why.
type Accepted struct {
	Finding
	// AcceptedBy says what accepted it, e.g. "annotation
	// premortem.dev/accept on Deployment ns/web" or "file accept.yaml".
	AcceptedBy []string `json:"acceptedBy"`
	// Reasons are the reasons given, if any.
	Reasons []string `json:"reasons,omitempty"`
}

// Complete reports whether everything was read and every check that applies
// ran. An incomplete result is never reported as clean.
func (r *Result) Complete() bool {
	if !r.Info.Complete() {
		return false
	}
	for _, n := range r.NotRun {
		if n.Incomplete {
			return false
		}
	}
	return true
}

// Max returns the highest severity among the findings; false if none.
func (r *Result) Max() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	m := r.Findings[0].Severity
	for _, f := range r.Findings[1:] {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m, true
}

// Count returns how many findings have severity s.
func (r *Result) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}
