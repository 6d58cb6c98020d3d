package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/premortem/premortem/internal/accept"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/report"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/spf13/cobra"
)

type scanOptions struct {
	snapshots *pathsFlag
	baseline  string
	output    *outputFlag
	failOn    string
	only      []string
	skip      []string
	params    []string
	accept    string
	now       string
	limits    kube.Limits
	all       bool
}

func newScanCommand(e *env) *cobra.Command {
	flags := kube.NewFlags()
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Read a cluster (live, or a snapshot) and report the latent conditions behind known incidents",
		Long: `scan reads what the selected checks need and reports what they find, most
severe first, with the incident each finding resembles and how to fix it.

The live read is cheap by design: one paginated LIST per kind, the first page
served from the API server's watch cache, metadata-only where enough, Secret
data never read. Kinds it may not read (RBAC) and API groups whose discovery
fails are reported, never silently ignored. All namespaces are read unless
-n names one; --snapshot reads files instead (see docs/scan.md).

Exit codes:
  0  the scan completed and no finding reached --fail-on
  1  a finding at or above --fail-on
  2  bad flags or input, cluster unreachable
  3  the scan could not read everything (the report says what), and no
     finding reached --fail-on`,
		Example: `  premortem scan
  premortem scan --context prod -o json --fail-on high
  premortem scan --snapshot cluster.json.gz --baseline last-week.json.gz
  kubectl get pods,nodes -A -o yaml > dump.yaml && premortem scan --snapshot dump.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScan(cmd.Context(), e, flags, o)
		},
	}
	flags.AddFlags(cmd.Flags())
	f := cmd.Flags()
	o.snapshots = addPathsFlag(f, "snapshot", "read `PATHS` (files or directories) instead of a cluster: kubectl -o json|yaml output, premortem snapshot save files, .gz; -n narrows them as it narrows a live read")
	f.StringVar(&o.baseline, "baseline", "", "an earlier snapshot (`PATH`) to compare object counts against (object-growth)")
	addLimitFlags(f, &o.limits)
	o.output = addOutputFlag(f, report.Formats, "output")
	f.BoolVar(&o.all, "all", false, "list every finding as a row of the table; without it, when findings do not fit one screen (or, piped, are more than 30), those below high are counted by check")
	f.StringVar(&o.failOn, "fail-on", "none", "exit 1 when a finding is at or above this `SEVERITY`: info, low, medium, high, critical, or none")
	f.StringSliceVar(&o.only, "only", nil, "run only these check `IDS`")
	f.StringSliceVar(&o.skip, "skip", nil, "do not run these check `IDS`")
	f.StringArrayVar(&o.params, "param", nil, "set a check parameter, `ID.NAME=VALUE` (premortem checks explain ID lists them)")
	f.StringVar(&o.accept, "accept", "", "accept the check and object pairs this `FILE` lists (docs/scan.md); like premortem.dev/accept annotations, accepted findings are counted, listed with -v and in -o json, and ignored by --fail-on")
	// --now pins the instant ages are measured against, so two scans of the
	// same objects agree to the second (tests, reproducible reports).
	f.StringVar(&o.now, "now", "", "measure ages against this RFC 3339 time instead of the read time")
	_ = f.MarkHidden("now")
	return cmd
}

func runScan(ctx context.Context, e *env, flags *kube.Flags, o scanOptions) error {
	limitMemory()
	failOn, failOnSet := check.Severity(0), false
	if o.failOn != "none" && o.failOn != "" {
		s, err := check.ParseSeverity(o.failOn)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--fail-on: %w", err))
		}
		failOn, failOnSet = s, true
	}
	params, err := checkParams(o.params)
	if err != nil {
		return withExit(ExitError, err)
	}
	cs, err := checks.Select(o.only, o.skip)
	if err != nil {
		return withExit(ExitError, err)
	}
	var accepted []accept.Entry
	if o.accept != "" {
		accepted, err = accept.Load(o.accept, func(id string) bool { _, ok := checks.Lookup(id); return ok })
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--accept: %w", err))
		}
	}
	need := kube.NeedOf(cs)

	var snap *snapshot.Snapshot
	if len(o.snapshots.paths) > 0 {
		snap, err = loadSnapshot(e, o.snapshots.paths, need, o.limits)
		if err != nil {
			return withExit(ExitError, err)
		}
		snap.InNamespace(flags.Namespace())
	} else {
		rr, err := readLive(ctx, e, flags, need.Want, need.Count)
		if err != nil {
			return err
		}
		snap = rr.Snapshot
	}
	// Only what the selected checks need decides completeness.
	need.Narrow(&snap.Info)

	opts := check.Options{Params: params, Log: e.log}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--now: %w", err))
		}
		opts.Now = t
	}
	if o.baseline != "" {
		base, err := loadSnapshot(e, []string{o.baseline}, kube.Need{Want: need.Want}, o.limits)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--baseline: %w", err))
		}
		base.InNamespace(flags.Namespace())
		opts.Baseline = base
	}
	res, err := check.Run(ctx, snap, cs, opts)
	if err != nil {
		return withExit(ExitError, err)
	}
	accept.Apply(res, snap, accepted)
	out := e.Out
	if o.all {
		d := output.DisplayOf(out)
		d.All = true
		out = output.WithDisplay(out, d)
	}
	if err := report.Write(out, o.output.value, res); err != nil {
		return withExit(ExitError, err)
	}
	if (o.output.value == "table" || o.output.value == "wide") && e.verbose > 0 {
		if err := report.WriteAccepted(out, res); err != nil {
			return withExit(ExitError, err)
		}
	}
	if max, ok := res.Max(); failOnSet && ok && max >= failOn {
		return withExit(ExitFindings, nil)
	}
	if !res.Complete() {
		return withExit(ExitIncomplete, nil)
	}
	return nil
}

// loadSnapshot reads snapshot files for need, warning on stderr about the
// parts it could not read.
func loadSnapshot(e *env, paths []string, need kube.Need, lim kube.Limits) (*snapshot.Snapshot, error) {
	lr, err := kube.LoadFor(paths, need, lim)
	if err != nil {
		return nil, withLimitHint(err)
	}
	for _, n := range lr.Notes {
		e.warn(n)
	}
	for _, p := range lr.Problems {
		// Problems quote the files: escaped, they cannot rewrite the terminal.
		e.warn(withLimitHint(p).Error())
	}
	return lr.Snapshot, nil
}
