package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/measure"
)

type measureOptions struct {
	flags      *kube.Flags
	interval   time.Duration
	duration   time.Duration
	settle     time.Duration
	apiservers []string
	output     *outputFlag
}

// minSampleInterval is the shortest time between two samples of the
// priority levels (measure --interval, agent --apiserver-sample).
const minSampleInterval = 10 * time.Millisecond

func newMeasureCommand(e *env) *cobra.Command {
	o := &measureOptions{flags: kube.NewFlags()}
	cmd := &cobra.Command{
		Use:   "measure [--interval 1s] [--duration D] [--settle D] [--apiserver URL]... [-- COMMAND ARGS...]",
		Short: "What a command (a deploy) costs each API server, sampled at 1 s",
		Long: `measure runs COMMAND and measures the control plane for as long as it runs,
plus --settle; without a command it measures a window of --duration (for a
deploy that runs elsewhere).

It reads every API server directly: the kubeconfig server, the addresses of
Service default/kubernetes (its EndpointSlices), and each --apiserver, with the
kubeconfig's credentials and its TLS server name. For each server it reads
/metrics once before and once after (requests by verb, resource and code,
CPU seconds, response and watch event bytes, watchers, APF rejections), and
samples /debug/api_priority_and_fairness/dump_priority_levels every
--interval: the executing and waiting requests of each priority level. The
report puts each level's 1 s peak beside its mean over the window, and
estimates whether the other servers could absorb the heaviest one's load
(N-1). COMMAND's output goes to stderr. See docs/measure.md.

It needs get on the non-resource URLs /metrics and
/debug/api_priority_and_fairness/dump_priority_levels (deploy/rbac/), and
list on EndpointSlices in namespace default; without them it says what it
could not read and exits 3.`,
		Example: `  premortem measure -- helmfile -e prod apply
  premortem measure --duration 10m -o html > deploy.html
  premortem measure --apiserver https://10.64.0.117:6443 --duration 2m -o json`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, e, args) },
	}
	o.flags.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", time.Second, "time between samples of the priority levels")
	f.DurationVar(&o.duration, "duration", 0, "length of the window when no command is given")
	f.DurationVar(&o.settle, "settle", 5*time.Second, "how long to go on measuring after the command ends")
	f.StringArrayVar(&o.apiservers, "apiserver", nil, "an API server `URL` to read besides those found (repeatable)")
	o.output = addOutputFlag(f, measure.Writers.Formats(), "report")
	return cmd
}

func (o *measureOptions) run(cmd *cobra.Command, e *env, args []string) error {
	ctx := cmd.Context()
	dash := cmd.ArgsLenAtDash()
	if dash > 0 || (dash < 0 && len(args) > 0) {
		return withExit(ExitError, errors.New("the command to measure goes after --, as in premortem measure [flags] -- COMMAND ARGS"))
	}
	command := args
	switch {
	case o.interval < minSampleInterval:
		return withExit(ExitError, fmt.Errorf("--interval %s: want at least %s", o.interval, minSampleInterval))
	case len(command) == 0 && o.duration <= 0:
		return withExit(ExitError, errors.New("give a command after -- or a --duration"))
	case len(command) > 0 && cmd.Flags().Changed("duration"):
		return withExit(ExitError, errors.New("--duration and a command exclude each other: the command's run is the window"))
	case o.settle < 0:
		return withExit(ExitError, fmt.Errorf("--settle %s: want zero or more", o.settle))
	}
	cfg, err := restConfig(o.flags, kube.ClientOptions{UserAgent: "premortem-measure/" + version})
	if err != nil {
		return err
	}
	found, err := measure.Discover(ctx, cfg, o.flags.ChunkSize(), o.apiservers, e.log)
	if err != nil {
		return withExit(ExitError, err)
	}
	opts := measure.Options{Interval: o.interval, Duration: o.duration, Settle: o.settle, Log: e.log}
	if len(command) > 0 {
		opts.CommandLine = command
		opts.Command = func(ctx context.Context) error {
			c := exec.CommandContext(ctx, command[0], command[1:]...)
			// stdout stays the report's.
			c.Stdin, c.Stdout, c.Stderr = e.In, e.ErrOut, e.ErrOut
			return c.Run()
		}
	}
	report, err := measure.Run(ctx, found.Servers, opts)
	if err != nil {
		return withExit(ExitError, err)
	}
	report.NotRead = append(found.NotRead, report.NotRead...)
	report.Notes = append(found.Notes, report.Notes...)
	if err := measure.Writers.Write(e.Out, o.output.value, report); err != nil {
		return withExit(ExitError, err)
	}
	switch {
	case report.CommandError != "":
		return withExit(ExitError, fmt.Errorf("%s: %s", command[0], report.CommandError))
	case report.Incomplete():
		errs := []error{fmt.Errorf("incomplete: %d thing(s) not read", len(report.NotRead))}
		for _, n := range report.NotRead {
			errs = append(errs, errors.New("  "+n))
		}
		return withExit(ExitIncomplete, errors.Join(errs...))
	}
	return nil
}
