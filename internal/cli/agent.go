package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/agent"
	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/measure"
)

type agentOptions struct {
	interval      time.Duration
	listen        string
	topNamespaces int
	maxSeries     int
	only, skip    []string
	params        []string
	// apiserverSample: sample each API server's priority levels this often
	// (0: off).
	apiserverSample time.Duration
}

func newAgentCommand(e *env) *cobra.Command {
	flags := kube.NewFlags()
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the checks continuously in the cluster and serve them as Prometheus metrics",
		Long: `agent keeps what the selected checks read in informers (one watch per kind,
the same kinds, trimming and metadata-only reads as scan), evaluates the
checks every --interval and soon after a change, and serves:

  /metrics   Prometheus metrics (docs/agent.md lists them)
  /healthz   200 while the process runs
  /readyz    200 once every informer has synced and its watch is healthy;
             503 naming the resources that are not
  /findings  the last evaluation, as scan -o json (premortem/scan/v1)

In a pod it uses the in-cluster configuration unless the flags say
otherwise. It stops gracefully on SIGTERM. See docs/agent.md.`,
		Example: `  premortem agent --interval 1m --listen :8080
  premortem agent --context prod --skip object-growth -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), e, flags, o)
		},
	}
	flags.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", agent.DefaultInterval, "evaluate the checks every `DURATION` (and soon after a change)")
	f.StringVar(&o.listen, "listen", ":8080", "serve HTTP on `ADDRESS`")
	f.IntVar(&o.topNamespaces, "top-namespaces", agent.DefaultTopNamespaces, "per-namespace gauges keep the `N` namespaces with the most objects")
	f.IntVar(&o.maxSeries, "max-series", agent.DefaultMaxSeries, "at most `N` series per per-object gauge (premortem_series_truncated counts the rest)")
	f.StringSliceVar(&o.only, "only", nil, "run only these check `IDS`")
	f.StringSliceVar(&o.skip, "skip", nil, "do not run these check `IDS`")
	f.StringArrayVar(&o.params, "param", nil, "set a check parameter, `ID.NAME=VALUE`")
	f.DurationVar(&o.apiserverSample, "apiserver-sample", 0, "sample every API server's API Priority and Fairness levels every `INTERVAL` (e.g. 1s; needs the measure role, docs/measure.md); 0: off")
	return cmd
}

func runAgent(ctx context.Context, e *env, flags *kube.Flags, o agentOptions) error {
	limitMemory()
	if o.interval < time.Second {
		return withExit(ExitError, fmt.Errorf("--interval %s: want at least 1s", o.interval))
	}
	params, err := checkParams(o.params)
	if err != nil {
		return withExit(ExitError, err)
	}
	cs, err := checks.Select(o.only, o.skip)
	if err != nil {
		return withExit(ExitError, err)
	}
	cfg, err := restConfig(flags, kube.ClientOptions{UserAgent: userAgent()})
	if err != nil {
		return err
	}
	var sample *measure.Monitor
	if o.apiserverSample > 0 {
		if sample, err = apiserverSample(ctx, e, cfg, flags.ChunkSize(), o.apiserverSample); err != nil {
			return withExit(ExitError, err)
		}
	}
	a, err := agent.New(agent.Options{Config: cfg, Namespace: flags.Namespace(), Checks: cs, Params: params,
		Interval: o.interval, PageSize: flags.ChunkSize(), TopNamespaces: o.topNamespaces, MaxSeries: o.maxSeries,
		Version: version, Revision: revision(), APIServerSample: sample, Log: e.log, Settled: settleMemory})
	if err != nil {
		return withExit(ExitError, err)
	}
	if err := a.Serve(ctx, o.listen, nil); err != nil {
		return withExit(ExitError, err)
	}
	return nil
}

// apiserverSample finds the API servers as measure does and returns a
// monitor of them. What discovery could not read is logged: the agent
// samples the servers it knows.
func apiserverSample(ctx context.Context, e *env, cfg *rest.Config, pageSize int64, interval time.Duration) (*measure.Monitor, error) {
	if interval < minSampleInterval {
		return nil, fmt.Errorf("--apiserver-sample %s: want at least %s", interval, minSampleInterval)
	}
	found, err := measure.Discover(ctx, cfg, pageSize, nil, e.log)
	if err != nil {
		return nil, fmt.Errorf("--apiserver-sample: %w", err)
	}
	for _, n := range found.NotRead {
		e.log.Warn("--apiserver-sample: not read", "what", n)
	}
	return measure.NewMonitor(found.Servers, interval)
}

// checkParams parses --param ID.NAME=VALUE flags.
func checkParams(flags []string) (map[string]string, error) {
	params := map[string]string{}
	for _, p := range flags {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.Contains(k, ".") {
			return nil, fmt.Errorf("--param %q: want CHECK-ID.NAME=VALUE", p)
		}
		params[k] = v
	}
	return params, nil
}

// revision is the VCS revision premortem was built from, when known.
func revision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
