package cli

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/audit"
)

// runAuditCompare is audit --compare BEFORE... and audit --compare-at TIME:
// the load of two log sets, or of one log set on each side of a time.
func runAuditCompare(cmd *cobra.Command, e *env, o *auditOptions, opts audit.Options, args []string, now time.Time) error {
	switch {
	case len(o.compare.paths) > 0 && o.compareAt != "":
		return withExit(ExitError, errors.New("--compare and --compare-at: give one (two log sets, or one split at a time)"))
	case opts.Deleted != nil:
		return withExit(ExitError, errors.New("--deleted does not apply to a comparison"))
	}
	if err := audit.CompareFormats.Check(o.output.value); err != nil {
		return withExit(ExitError, fmt.Errorf("with --compare: %w", err))
	}
	after, notes, err := audit.Inputs(args, e.In)
	if err != nil {
		return withExit(ExitError, err)
	}
	before, afterOpts := after, opts
	beforeOpts := opts
	if o.compareAt != "" {
		at, err := parseWhen(o.compareAt, now)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--compare-at: %w", err))
		}
		if slices.Contains(args, "-") {
			return withExit(ExitError, errors.New("--compare-at reads the logs twice: stdin (-) cannot be read twice; save it to a file"))
		}
		if !opts.Since.IsZero() && !opts.Since.Before(at) || !opts.Until.IsZero() && !at.Before(opts.Until) {
			return withExit(ExitError, fmt.Errorf("--compare-at %s is not between --since and --until", o.compareAt))
		}
		beforeOpts.Until, afterOpts.Since = at, at
	} else {
		var more []string
		if before, more, err = audit.Inputs(o.compare.paths, e.In); err != nil {
			return withExit(ExitError, fmt.Errorf("--compare: %w", err))
		}
		notes = append(notes, more...)
	}
	for _, n := range notes {
		e.warn(n)
	}
	bar := newProgress(e.ErrOut, 200*time.Millisecond, 500*time.Millisecond)
	beforeOpts.Progress, afterOpts.Progress = byteProgress(bar), byteProgress(bar)
	c, err := audit.Compare(cmd.Context(), before, beforeOpts, after, afterOpts)
	bar.done()
	if err != nil {
		return withExit(ExitError, err)
	}
	for _, p := range []struct {
		name string
		p    *audit.Period
	}{{"before", &c.Before}, {"after", &c.After}} {
		if p.p.Events == 0 {
			return withExit(ExitError, fmt.Errorf("%s: no audit event in the input: want audit.k8s.io/v1 JSON lines", p.name))
		}
	}
	if err := audit.WriteComparison(e.Out, o.output.value, c); err != nil {
		return withExit(ExitError, err)
	}
	for _, in := range append(slices.Clone(c.Before.Inputs), c.After.Inputs...) {
		if in.Truncated != "" {
			return withExit(ExitIncomplete, fmt.Errorf("%s: %s", in.Name, in.Truncated))
		}
	}
	return nil
}
