package cli

import (
	"context"
	"errors"
	"time"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/refs"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/spf13/cobra"
)

func newRefsCommand(e *env) *cobra.Command {
	flags := kube.NewFlags()
	var snapshots *pathsFlag
	var output *outputFlag
	var limits kube.Limits
	modes := &refsModes{} // refs_modes.go
	cmd := &cobra.Command{
		Use:   "refs ADDRESS|HOSTNAME... | --audit LOG... | --cert NAME...",
		Short: "Find every place in the cluster that names an address or hostname (before you remove it)",
		Long: `refs searches the cluster for an IP address or hostname: ConfigMap data,
Secret data (the Secret and key are named, never the value), kubeconfigs
stored in ConfigMaps and Secrets (by cluster entry and server), container
env, args, command and images of every pod template (Deployments,
StatefulSets, DaemonSets, Jobs, CronJobs, bare Pods), hostAliases and
dnsConfig, Service externalName/externalIPs/load balancers, EndpointSlices,
Ingress hosts, NetworkPolicy ipBlocks (/24 or narrower), webhook
clientConfig URLs and Services, APIService Services and Node addresses. Each reference in a ConfigMap or Secret names the
workloads that mount it or take env from it, with their pods.

Hostnames match case-insensitively and as whole names (k8s-master.example.org
is not found in old-k8s-master.example.org); IP addresses match exactly
(10.64.0.11 is not found in 10.64.0.117). A scheme, port or path in the
argument is ignored: references match with or without them.

The read is one paginated LIST per kind; Secrets are searched page by page
and their values dropped, never kept, printed or logged.

--audit reads API server audit logs instead (files, directories, gzip) and
lists every identity that reached the API server from an address that is
neither a node, a pod (pod IP or node pod CIDR, --cluster-cidr) nor
loopback: user agents, source addresses, first and last seen. These are
the clients an address change breaks that no search of the cluster finds.

--cert says, for each API server (the kubeconfig's server and the
addresses in the EndpointSlices of Service default/kubernetes), whether
the certificate it presents for NAME (sent as SNI) covers NAME: ask it
before repointing a client to NAME. One TLS handshake per server and name,
each within --dial-timeout; nothing is sent.

Exit codes (so a removal can be gated on it):
  0  no references, and everything was searched
  1  references found (--audit: an identity from outside; --cert: a name
     a certificate does not cover)
  2  bad arguments, cluster unreachable
  3  no references found, but something could not be read (it is listed)`,
		Example: `  premortem refs k8s-master.tools.example.org 208.80.155.204
  premortem refs https://10.64.0.117:6443 -o json
  kubectl get cm,secret,deploy,ds,sts,job,cronjob,pod,svc,ingress,netpol -A -o json > dump.json
  premortem refs --snapshot dump.json k8s-master.tools.example.org
  premortem refs --audit /var/log/kubernetes/audit/
  premortem refs --cert tools-k8s-master-01.tools.eqiad.wmflabs`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case modes.audit && modes.cert:
				return withExit(ExitError, errors.New("--audit and --cert: give one"))
			case modes.audit:
				return runRefsAudit(cmd.Context(), e, flags, snapshots.paths, limits, output.value, args, modes)
			case modes.cert:
				return runRefsCert(cmd.Context(), e, flags, snapshots.paths, limits, output.value, args, modes)
			}
			return runRefs(cmd.Context(), e, flags, snapshots.paths, limits, output.value, args)
		},
	}
	addRefsModeFlags(cmd.Flags(), modes)
	flags.AddFlags(cmd.Flags())
	snapshots = addPathsFlag(cmd.Flags(), "snapshot", "search snapshot files or directories instead of a cluster (kubectl -o json|yaml output, .gz)")
	addLimitFlags(cmd.Flags(), &limits)
	output = addOutputFlag(cmd.Flags(), refs.Formats, "output")
	return cmd
}

func runRefs(ctx context.Context, e *env, flags *kube.Flags, snapshots []string, limits kube.Limits, output string, args []string) error {
	queries, err := address.ParseQueries(args)
	if err != nil {
		return withExit(ExitError, err)
	}
	search := refs.NewSearch(queries)
	var visit []snapshot.Resource
	for _, r := range refs.Reads {
		if kube.Visitable(r) {
			visit = append(visit, r)
		}
	}
	var snap *snapshot.Snapshot
	if len(snapshots) > 0 && flags.Namespace() != "" {
		// The search visits objects as the files stream by: it cannot
		// narrow them afterwards, and must not pretend to.
		return withExit(ExitError, errors.New("-n does not apply to --snapshot: refs searches every namespace of the files"))
	}
	if len(snapshots) > 0 {
		lr, err := kube.LoadVisit(snapshots, refs.Reads, visit, search.Visit, limits)
		if err != nil {
			return withExit(ExitError, withLimitHint(err))
		}
		for _, n := range lr.Notes {
			e.warn(n)
		}
		snap = lr.Snapshot
		if lr.HasInfo {
			// premortem's own snapshots are trimmed for scan: they hold no
			// Secret data and only metadata or a few fields of some kinds.
			for _, r := range []snapshot.Resource{snapshot.Secrets, snapshot.Pods, snapshot.CronJobs, snapshot.Ingresses,
				snapshot.NetworkPolicies, snapshot.ValidatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations} {
				snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: r,
					Reason: "not saved whole in a premortem snapshot; search the cluster, or kubectl get -o json output"})
			}
		}
	} else {
		cfg, err := restConfig(flags, kube.ClientOptions{UserAgent: userAgent()})
		if err != nil {
			return err
		}
		start := time.Now()
		r := &kube.Reader{Config: cfg, Namespace: flags.Namespace(), PageSize: flags.ChunkSize(), Visit: search.Visit, Log: e.log}
		p := newProgress(e.ErrOut, 100*time.Millisecond, 0)
		r.Progress = readProgress(p)
		rr, err := r.Read(ctx, refs.Reads)
		p.done()
		if err != nil {
			return withExit(ExitError, err)
		}
		snap = rr.Snapshot
		e.log.Info("searched cluster", "server", cfg.Host, "seconds", time.Since(start).Seconds())
	}
	search.AddSnapshot(snap)
	res := search.Result()
	if err := refs.Write(e.Out, output, res); err != nil {
		return withExit(ExitError, err)
	}
	switch {
	case len(res.References) > 0:
		return withExit(ExitFindings, nil)
	case !res.Complete():
		return withExit(ExitIncomplete, nil)
	}
	return nil
}
