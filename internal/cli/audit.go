package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/sizelimit"
)

type auditOptions struct {
	since, until string
	filter       audit.Filter
	deleted      string
	output       *outputFlag
	top          int
	workers      int
	maxLine      sizelimit.Size
	maxInput     sizelimit.Size
	compare      *pathsFlag // audit_compare.go
	compareAt    string
}

func newAuditCommand(e *env) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit FILE|DIR|- ...",
		Short: "Attribute API server load and reconstruct deletions from audit logs",
		Long: `audit reads Kubernetes API server audit logs (audit.k8s.io/v1 JSON lines, plain or
gzip, any number of files or directories of rotated logs; "-" reads stdin) and reports:

  - load per user, user agent, and verb and resource: requests, summed query time
    (ResponseComplete minus requestReceived; watches and other long-running requests
    apart), p50/p99/max latency, 429s and 5xx, and requests in flight (peak and mean);
  - a per-minute timeline of the top users;
  - every LIST classified by read semantics (resourceVersion unset, "0", exact,
    continue, limit, selectors) with the clients of the kinds that may read etcd.

With --deleted it traces one deletion instead: the delete request (who, user agent,
source IPs, when), the cascade by the namespace controller and garbage collector, the
last object removed, and the gap between the request and the cascade.

With --compare BEFORE... (or --compare-at TIME) it compares the load of two log
sets (or of one on each side of a time) per user and per verb and resource:
requests, query time, peak and mean in flight; who is new, who is gone, who grew
most.

Exit codes: 0 done; 2 bad flags or unreadable input; 3 an input was truncated or
could not be read to the end (the report covers what was read).`,
		Example: `  premortem audit /var/log/kubernetes/audit/
  premortem audit audit.log audit-2024-05-28.log.gz --since 2024-05-28T12:00:00Z --until 2024-05-28T14:00:00Z
  premortem audit audit.log --verb list --resource pods -o json
  premortem audit audit.log -o html > audit.html
  premortem audit logs/ --deleted namespace/team-a
  premortem audit logs/ --deleted deployment/team-a/web
  premortem audit logs-this-week/ --compare logs-last-week/
  premortem audit logs/ --compare-at 2024-05-28T09:00:00Z`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAudit(cmd, e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.since, "since", "", "only events completed at or after this time (RFC 3339, or a duration before now such as 2h)")
	f.StringVar(&o.until, "until", "", "only events completed before this time (RFC 3339, or a duration before now)")
	f.StringSliceVar(&o.filter.Users, "user", nil, "only these users (repeatable; a trailing * matches a prefix)")
	f.StringSliceVar(&o.filter.UserAgents, "user-agent", nil, "only these user agents (repeatable; a trailing * matches a prefix)")
	f.StringSliceVar(&o.filter.Verbs, "verb", nil, "only these verbs: get, list, watch, create, update, patch, delete, deletecollection")
	f.StringSliceVar(&o.filter.Resources, "resource", nil, "only these resources: pods, deployments.apps, pods/log")
	f.StringSliceVar(&o.filter.Namespaces, "namespace", nil, "only these namespaces")
	f.StringVar(&o.deleted, "deleted", "", "trace the deletion of namespace/NAME or KIND/NAMESPACE/NAME (KIND/NAME if cluster-scoped)")
	o.output = addOutputFlag(f, audit.Formats, "output (html: one self-contained file)")
	f.IntVar(&o.top, "top", 20, "rows per table")
	o.maxLine, o.maxInput = audit.DefaultMaxLine, audit.DefaultMaxInput
	f.Var(&o.maxLine, "max-line-size", "largest `SIZE` of one line; a longer one is skipped and counted as malformed")
	f.Var(&o.maxInput, "max-input-size", "largest `SIZE` of one input, decompressed; reading it stops there")
	o.compare = addPathsFlag(f, "compare", "compare the load with these logs (files or directories): they are before, the arguments after")
	f.StringVar(&o.compareAt, "compare-at", "", "compare the load before this time (RFC 3339, or a duration before now) with the load from it on")
	f.IntVar(&o.workers, "workers", 0, "parsing goroutines (default: one per CPU)")
	_ = f.MarkHidden("workers")
	return cmd
}

func runAudit(cmd *cobra.Command, e *env, o *auditOptions, args []string) error {
	if o.top < 1 {
		return withExit(ExitError, fmt.Errorf("--top %d: want at least 1", o.top))
	}
	now := time.Now()
	opts := audit.Options{Filter: o.filter, Top: o.top, Workers: o.workers, MaxLine: o.maxLine, MaxInput: o.maxInput}
	var err error
	if opts.Since, err = parseWhen(o.since, now); err != nil {
		return withExit(ExitError, fmt.Errorf("--since: %w", err))
	}
	if opts.Until, err = parseWhen(o.until, now); err != nil {
		return withExit(ExitError, fmt.Errorf("--until: %w", err))
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
		return withExit(ExitError, fmt.Errorf("--since %s is not before --until %s", o.since, o.until))
	}
	if o.deleted != "" || cmd.Flags().Changed("deleted") {
		t, err := audit.ParseTarget(o.deleted)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--deleted: %w", err))
		}
		opts.Deleted = &t
	}
	if len(o.compare.paths) > 0 || o.compareAt != "" {
		return runAuditCompare(cmd, e, o, opts, args, now)
	}
	inputs, notes, err := audit.Inputs(args, e.In)
	if err != nil {
		return withExit(ExitError, err)
	}
	for _, n := range notes {
		e.warn(n)
	}
	bar := newProgress(e.ErrOut, 200*time.Millisecond, 500*time.Millisecond)
	opts.Progress = byteProgress(bar)
	rep, err := audit.Analyze(cmd.Context(), inputs, opts)
	bar.done()
	if err != nil {
		return withExit(ExitError, err)
	}
	if rep.Events == 0 {
		// Not an empty window (that reports zero requests): no line of the
		// inputs was an audit event at all.
		return withExit(ExitError, fmt.Errorf("no audit event in the input (%d lines, %d malformed): want audit.k8s.io/v1 JSON lines", rep.Lines, rep.Malformed))
	}
	if err := audit.Write(e.Out, o.output.value, rep); err != nil {
		return withExit(ExitError, err)
	}
	for _, in := range rep.Inputs {
		if in.Truncated != "" {
			return withExit(ExitIncomplete, fmt.Errorf("%s: %s", in.Name, in.Truncated))
		}
	}
	return nil
}

// parseWhen reads an RFC 3339 time, or a duration meaning that long before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: want a duration before now, not a negative one", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}
