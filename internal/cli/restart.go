package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/restart"
)

type restartOptions struct {
	flags         *kube.Flags
	allNamespaces bool
	selector      string
	kinds         []string
	concurrency   int
	timeout       time.Duration
	force         []string
	apply         bool
	output        *outputFlag
	runID         string
	stateDir      string
	prepull       bool
	prepullImage  string
}

func newRestartCommand(e *env) *cobra.Command {
	o := &restartOptions{flags: kube.NewFlags()}
	cmd := &cobra.Command{
		Use:   "restart [-n NS | -A] [-l SELECTOR] [--kind KINDS] [--apply]",
		Short: "Plan and run a cluster-wide rolling restart that cannot take the network down",
		Long: `restart rolls every selected Deployment, StatefulSet and DaemonSet the way
'kubectl rollout restart' does (the kubectl.kubernetes.io/restartedAt pod
template annotation; pods are never deleted), in an order that keeps the pod
network up (incident 003):

  1. application workloads, in waves of --concurrency;
  2. critical workloads (kube-system, system-*-critical priority, known CNI,
     proxy and DNS components) one at a time, servers before their clients:
     calico-typha only while calico-node is fully ready, then calico-node only
     while typha is fully ready again.

Each workload is restarted only when healthy and waited for (rolled out,
ready, available) before the next wave; the first failure stops the run.
Gates hold a workload back unless --force kind/namespace/name names it:
single-replica critical workload, PodDisruptionBudget allowing no
disruption, image provably missing on a node a critical pod can go to, no
node to go to, not fully available, paused, and a dependency not ready.

Where Calico's BGP kinds are served, the plan shows the BGP graceful-restart
window (maxRestartTime, nodeMeshMaxRestartTime; BIRD's default 120s) and
warns when typha's or calico-node's own settings make a restart slower than
it; their rollouts must make progress within it, or the run stops.

--prepull (with --apply): before a critical Deployment or StatefulSet is
restarted, a short-lived DaemonSet with its node constraints pulls its
images onto every node a new pod may land on (image volumes, Kubernetes
1.35+); it is removed afterwards, also when interrupted, and a resumed run
removes what a killed one left.

Without --apply it prints the plan and changes nothing. With --apply it runs
it; interrupted or failed, the same command resumes the run without
restarting anything twice (see docs/restart.md).`,
		Example: `  premortem restart -A                       # the plan for the whole cluster
  premortem restart -A --apply --concurrency 10
  premortem restart -A --apply --prepull        # images on the nodes before each critical restart
  premortem restart -n kube-system -o json
  premortem restart -A --apply --run-id r20260921-103000-1a2b --force deployment/kube-system/calico-typha`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, e) },
	}
	o.flags.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "every namespace (default: the context's namespace, as kubectl)")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector on the workloads' own labels")
	f.StringSliceVar(&o.kinds, "kind", []string{"deployment", "statefulset", "daemonset"}, "kinds to restart")
	f.IntVar(&o.concurrency, "concurrency", 5, "application workloads restarted at once (critical ones: always one)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "longest wait for one workload: to be ready before its restart, and for its rollout after")
	f.StringSliceVar(&o.force, "force", nil, "restart kind/namespace/name despite its gates (repeatable, or comma-separated)")
	f.BoolVar(&o.apply, "apply", false, "run the plan (default: print it and change nothing)")
	o.output = addOutputFlag(f, restart.Formats, "plan")
	f.StringVar(&o.runID, "run-id", "", "run ID to start or resume (default: the unfinished run for this cluster and scope, else a new one)")
	f.StringVar(&o.stateDir, "state-dir", restart.DefaultStateDir(), "where the ID of an unfinished run is kept")
	f.BoolVar(&o.prepull, "prepull", false, "before restarting a critical Deployment or StatefulSet, pull its images onto every node its pods may land on (a short-lived DaemonSet, removed after)")
	f.StringVar(&o.prepullImage, "prepull-image", restart.DefaultPauseImage, "the container the pre-pull pods run (a pause image; a mirror of it on air-gapped clusters)")
	return cmd
}

func (o *restartOptions) run(cmd *cobra.Command, e *env) error {
	ctx := cmd.Context()
	if o.concurrency < 1 {
		return withExit(ExitError, fmt.Errorf("--concurrency %d: want at least 1", o.concurrency))
	}
	if o.timeout <= 0 {
		return withExit(ExitError, fmt.Errorf("--timeout %s: want a positive duration", o.timeout))
	}
	var kinds []restart.Kind
	for _, k := range o.kinds {
		kind, err := restart.ParseKind(k)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--kind: %w", err))
		}
		kinds = append(kinds, kind)
	}
	var force []restart.Ref
	for _, f := range o.force {
		r, err := restart.ParseRef(f)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--force: %w", err))
		}
		force = append(force, r)
	}
	selector := labels.Everything()
	if o.selector != "" {
		var err error
		if selector, err = labels.Parse(o.selector); err != nil {
			return withExit(ExitError, fmt.Errorf("-l %q: %w", o.selector, err))
		}
	}
	namespace := ""
	if !o.allNamespaces {
		ns, _, err := o.flags.ContextNamespace()
		if err != nil {
			return withExit(ExitError, err)
		}
		namespace = ns
	} else if cmd.Flags().Changed("namespace") {
		return withExit(ExitError, errors.New("-n and -A exclude each other"))
	}

	// An identifiable user agent for audit logs, and client-side limits that
	// do not throttle one watch per workload of a wave.
	config, err := restConfig(o.flags, kube.ClientOptions{UserAgent: "premortem-restart/" + version, QPS: 20, Burst: 40})
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return withExit(ExitError, err)
	}
	snap, err := restart.Read(ctx, config, restart.ReadOptions{Namespace: namespace, PageSize: o.flags.ChunkSize(), Log: e.log})
	if err != nil {
		return withExit(ExitError, err)
	}

	run, err := restart.OpenRun(o.stateDir, config.Host, restart.Scope(namespace, o.selector, kinds), o.runID, time.Now())
	if err != nil {
		return withExit(ExitError, err)
	}
	runID := run.ID
	plan, err := restart.NewPlan(snap, restart.Options{
		RunID: runID, Namespace: namespace, Selector: selector, Kinds: kinds,
		Concurrency: o.concurrency, Force: force, Prepull: o.prepull,
	})
	if err != nil {
		return withExit(ExitError, err)
	}

	// Progress and the summary go with the table; beside JSON they go to
	// stderr so that stdout stays one JSON document.
	progress := e.Out
	if o.output.value == "json" {
		progress = e.ErrOut
	}
	fmt.Fprint(progress, run.ResumeNote())
	if err := restart.WritePlan(e.Out, o.output.value, plan); err != nil {
		return withExit(ExitError, err)
	}
	if !o.apply {
		if plan.Counts.Restart+plan.Counts.Wait > 0 {
			fmt.Fprintln(progress, "\nNothing was changed. Run again with --apply to restart.")
		}
		return nil
	}

	if err := run.Begin(time.Now()); err != nil {
		return withExit(ExitError, err)
	}
	fmt.Fprintf(progress, "\nApplying run %s.\n", runID)
	// Watches run without the request timeout, which would cut each one
	// mid-stream; the server ends them (restart.WatchTimeout).
	watchConfig := rest.CopyConfig(config)
	watchConfig.Timeout = 0
	watches, err := kubernetes.NewForConfig(watchConfig)
	if err != nil {
		return withExit(ExitError, err)
	}
	exec := &restart.Executor{Client: client, Watches: watches, Timeout: o.timeout, Progress: progress, Log: e.log, PauseImage: o.prepullImage}
	res, execErr := exec.Execute(ctx, plan)
	summarize(progress, res)
	if execErr != nil {
		fmt.Fprintf(progress, "\nStopped: %s\nNothing after it was started. Fix the cause, then run the same command again to resume run %s\n(it restarts nothing twice; from elsewhere pass --run-id %s).\n", output.Text(execErr.Error()), runID, runID)
		return withExit(ExitError, nil)
	}
	if err := run.Finish(); err != nil {
		return withExit(ExitError, err)
	}
	if held := res.Count(restart.OutcomeSkipped); held > 0 {
		fmt.Fprintf(progress, "\n%d workload(s) held back by gates. To restart one after fixing or accepting its gate, without repeating the rest:\n  premortem restart ... --apply --run-id %s --force KIND/NAMESPACE/NAME\n", held, runID)
		return withExit(ExitFindings, nil)
	}
	return nil
}

func summarize(w io.Writer, r *restart.Result) {
	var parts []string
	for _, o := range []restart.Outcome{restart.OutcomeRestarted, restart.OutcomeWaited, restart.OutcomeDone,
		restart.OutcomeSkipped, restart.OutcomeNone, restart.OutcomeGone, restart.OutcomeFailed, restart.OutcomeCancelled, restart.OutcomeNotStarted} {
		if n := r.Count(o); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		parts = []string{"nothing in scope"}
	}
	fmt.Fprintf(w, "\nRun %s: %s in %s.\n", r.RunID, strings.Join(parts, ", "), r.Elapsed.Round(100*time.Millisecond))
}
