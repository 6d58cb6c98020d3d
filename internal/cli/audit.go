package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/audit"
)

type auditOptions struct {
	since, until string
	filter       audit.Filter
	deleted      string
	output       string
	top          int
	workers      int
}

func newAuditCommand(streams Streams) *cobra.Command {
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

Exit codes: 0 done; 2 bad flags or unreadable input; 3 an input was truncated or
could not be read to the end (the report covers what was read).`,
		Example: `  premortem audit /var/log/kubernetes/audit/
  premortem audit audit.log audit-2024-05-28.log.gz --since 2024-05-28T12:00:00Z --until 2024-05-28T14:00:00Z
  premortem audit audit.log --verb list --resource pods -o json
  premortem audit audit.log -o html > audit.html
  premortem audit logs/ --deleted namespace/team-a
  premortem audit logs/ --deleted deployment/team-a/web`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAudit(cmd, streams, o, args)
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
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or html (one self-contained file)")
	f.IntVar(&o.top, "top", 20, "rows per table")
	f.IntVar(&o.workers, "workers", 0, "parsing goroutines (default: one per CPU)")
	_ = f.MarkHidden("workers")
	return cmd
}

func runAudit(cmd *cobra.Command, streams Streams, o *auditOptions, args []string) error {
	switch o.output {
	case "table", "json", "html":
	default:
		return withExit(ExitError, fmt.Errorf("--output %q: want table, json or html", o.output))
	}
	now := time.Now()
	opts := audit.Options{Filter: o.filter, Top: o.top, Workers: o.workers}
	var err error
	if opts.Since, err = parseWhen(o.since, now); err != nil {
		return withExit(ExitError, fmt.Errorf("--since: %w", err))
	}
	if opts.Until, err = parseWhen(o.until, now); err != nil {
		return withExit(ExitError, fmt.Errorf("--until: %w", err))
	}
	if o.deleted != "" {
		t, err := audit.ParseTarget(o.deleted)
		if err != nil {
			return withExit(ExitError, err)
		}
		opts.Deleted = &t
	}
	inputs, err := audit.Inputs(args, streams.In)
	if err != nil {
		return withExit(ExitError, err)
	}
	var bar *progressBar
	if IsTerminal(streams.ErrOut) {
		bar = &progressBar{w: streams.ErrOut, start: time.Now()}
		opts.Progress = bar.update
	}
	rep, err := audit.Analyze(cmd.Context(), inputs, opts)
	bar.done()
	if err != nil {
		return withExit(ExitError, err)
	}
	switch o.output {
	case "json":
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case "html":
		err = audit.WriteHTML(streams.Out, rep)
	default:
		err = audit.WriteText(streams.Out, rep)
	}
	if err != nil {
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
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// progressBar draws on a terminal's stderr, at most five times a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  time.Time
	drawn bool
}

func (p *progressBar) update(read, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond || now.Sub(p.start) < 500*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(read) / now.Sub(p.start).Seconds() / 1e6
	if total > 0 {
		frac := min(float64(read)/float64(total), 1)
		n := int(frac * 30)
		fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s of %s, %.0f MB/s ", strings.Repeat("=", n), strings.Repeat(" ", 30-n), frac*100, mb(read), mb(total), rate)
	} else {
		fmt.Fprintf(p.w, "\r%s read, %.0f MB/s ", mb(read), rate)
	}
	p.drawn = true
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 78))
	}
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
