package check

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
)

// Pass is what a check's Run sees: the snapshot, the time, its parameters,
// and where to report findings.
type Pass struct {
	Check    *Check
	Snapshot *snapshot.Snapshot
	// Baseline is Options.Baseline (nil when none was given).
	Baseline *snapshot.Snapshot
	Now      time.Time

	params   map[string]any
	findings []Finding
	log      *slog.Logger
}

// Report records a finding. ID is set to the check's; empty Incidents and
// Remediation default to the check's. A severity above the check's
// MaxSeverity is lowered to it, and that and evidence keys the check does not
// declare are logged as bugs in the check: users rely on the declarations
// (checks list, --fail-on, the -o json schema).
func (p *Pass) Report(f Finding) {
	if limit := p.Check.MaxSeverity(); f.Severity > limit {
		p.log.Error("check bug: finding above the check's declared severity; reported at the declared maximum",
			"check", p.Check.ID, "severity", f.Severity.String(), "declared", limit.String(), "title", f.Title)
		f.Severity = limit
	}
	for k := range f.Evidence {
		if !slices.ContainsFunc(p.Check.Evidence, func(e EvidenceKey) bool { return e.Name == k }) {
			p.log.Error("check bug: evidence key not declared in the check's Evidence", "check", p.Check.ID, "key", k, "title", f.Title)
		}
	}
	f.ID = p.Check.ID
	if len(f.Incidents) == 0 {
		f.Incidents = slices.Clone(p.Check.Incidents)
	}
	if f.Remediation == "" {
		f.Remediation = p.Check.Remediation
	}
	if f.Title == "" {
		f.Title = p.Check.Title
	}
	p.findings = append(p.findings, f)
}

// NotRun returns an error that makes Run record the check as not applicable,
// with reason, instead of failed: `return p.NotRun("needs --baseline")`.
func (p *Pass) NotRun(reason string) error { return &notApplicable{reason: reason} }

type notApplicable struct{ reason string }

func (e *notApplicable) Error() string { return e.reason }

// Has reports whether r was read into the snapshot (it is not among the
// skipped kinds). Checks use it for their Optional kinds.
func (p *Pass) Has(r snapshot.Resource) bool {
	_, skipped := p.Snapshot.Info.SkipReason(r)
	return !skipped
}

// Int returns the value of an int parameter. Asking for an undeclared
// parameter or the wrong type is a bug in the check; it panics, and Run
// records the check as failed.
func (p *Pass) Int(name string) int { return param[int](p, name) }

// Float returns the value of a float parameter.
func (p *Pass) Float(name string) float64 { return param[float64](p, name) }

// Duration returns the value of a duration parameter.
func (p *Pass) Duration(name string) time.Duration { return param[time.Duration](p, name) }

// Text returns the value of a string parameter.
func (p *Pass) Text(name string) string { return param[string](p, name) }

// List returns a comma-separated string parameter as its items, trimmed,
// empty ones dropped.
func (p *Pass) List(name string) []string {
	var out []string
	for _, s := range strings.Split(p.Text(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func param[T any](p *Pass, name string) T {
	v, ok := p.params[name].(T)
	if !ok {
		panic(fmt.Sprintf("check %s: parameter %q is not declared with type %T", p.Check.ID, name, v))
	}
	return v
}

// Run runs cs over snap. A check whose Reads include a kind that was not read
// is not run (NotRun, incomplete); a check that fails or panics is recorded
// the same way, and the others still run. Findings come back sorted: most
// severe first, then by check ID and objects. Run returns an error only for
// bad options or a cancelled context.
func Run(ctx context.Context, snap *snapshot.Snapshot, cs []*Check, opts Options) (*Result, error) {
	if snap == nil {
		return nil, errors.New("run checks: nil snapshot")
	}
	params, err := resolveParams(cs, opts.Params)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now.IsZero() {
		now = snap.Info.TakenAt
	}
	if now.IsZero() {
		now = time.Now()
	}
	res := &Result{Info: snap.Info, Findings: []Finding{}, Ran: []string{}, NotRun: []NotRun{}}
	for _, c := range cs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run checks: %w", err)
		}
		if reason := missingReads(snap.Info, c.Reads); reason != "" {
			res.NotRun = append(res.NotRun, NotRun{ID: c.ID, Reason: reason, Incomplete: true})
			continue
		}
		pass := &Pass{Check: c, Snapshot: snap, Baseline: opts.Baseline, Now: now, params: params[c.ID], log: log}
		err := runOne(c, pass, log)
		var na *notApplicable
		switch {
		case errors.As(err, &na):
			res.NotRun = append(res.NotRun, NotRun{ID: c.ID, Reason: na.reason})
		case err != nil:
			res.NotRun = append(res.NotRun, NotRun{ID: c.ID, Reason: "failed: " + err.Error(), Incomplete: true})
		default:
			res.Ran = append(res.Ran, c.ID)
			res.Findings = append(res.Findings, pass.findings...)
		}
	}
	slices.SortStableFunc(res.Findings, compareFindings)
	slices.Sort(res.Ran)
	slices.SortFunc(res.NotRun, func(a, b NotRun) int { return cmp.Compare(a.ID, b.ID) })
	return res, nil
}

// runOne runs a check, turning a panic into an error so one broken check
// cannot take the scan down.
func runOne(c *Check, pass *Pass, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("check panicked", "check", c.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Run(pass)
}

func compareFindings(a, b Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Objects, b.Objects, compareObjects); c != 0 {
		return c
	}
	return cmp.Compare(a.Title, b.Title)
}

func compareObjects(a, b Object) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// missingReads says which of reads were not read, or "" if all were.
func missingReads(info snapshot.Info, reads []snapshot.Resource) string {
	var missing []string
	for _, r := range reads {
		if why, skipped := info.SkipReason(r); skipped {
			missing = append(missing, r.Name()+" ("+why+")")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "not read: " + strings.Join(missing, ", ")
}

// resolveParams parses every declared parameter of cs, applying overrides.
// Unknown keys are an error so a typo does not silently keep a default.
func resolveParams(cs []*Check, overrides map[string]string) (map[string]map[string]any, error) {
	out := make(map[string]map[string]any, len(cs))
	byID := make(map[string]*Check, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		vals := make(map[string]any, len(c.Params))
		for _, p := range c.Params {
			v, err := p.parse(p.Default)
			if err != nil {
				return nil, fmt.Errorf("check %s: default of %s: %w", c.ID, p.Name, err)
			}
			vals[p.Name] = v
		}
		out[c.ID] = vals
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		id, name, ok := strings.Cut(k, ".")
		c := byID[id]
		if !ok || c == nil {
			ids := make([]string, len(cs))
			for i, c := range cs {
				ids[i] = c.ID
			}
			return nil, fmt.Errorf("param %q: want <check-id>.<param> of a selected check: %s", k, strings.Join(ids, ", "))
		}
		p, ok := c.Param(name)
		if !ok {
			return nil, fmt.Errorf("param %q: check %s has no parameter %q", k, id, name)
		}
		v, err := p.parse(overrides[k])
		if err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
		out[id][name] = v
	}
	return out, nil
}
