package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/refs"
	"github.com/premortem/premortem/internal/snapshot"
)

// refsModes are refs --audit (clients from outside the cluster, in audit
// logs) and refs --cert (whether the API servers' certificates cover a
// name): the references no search of the cluster finds.
type refsModes struct {
	audit, cert   bool
	clusterCIDRs  []string
	maxIdentities int
	dialTimeout   time.Duration
}

// maxCertNames bounds refs --cert: every name may cost a handshake per server.
const maxCertNames = 32

func addRefsModeFlags(fs *pflag.FlagSet, m *refsModes) {
	fs.BoolVar(&m.audit, "audit", false, "the arguments are audit logs: list the identities that reached the API server from outside the cluster (neither a node nor a pod)")
	fs.BoolVar(&m.cert, "cert", false, "the arguments are names: say whether each API server's serving certificate covers them")
	fs.StringSliceVar(&m.clusterCIDRs, "cluster-cidr", nil, "with --audit: more `CIDR`s of the cluster's own (pod networks whose nodes carry no podCIDR)")
	fs.IntVar(&m.maxIdentities, "max-identities", 10000, "with --audit: most identities kept; the requests of others are counted")
	fs.DurationVar(&m.dialTimeout, "dial-timeout", 5*time.Second, "with --cert: time allowed for each TLS handshake")
}

func runRefsCert(ctx context.Context, e *env, flags *kube.Flags, snapshots []string, limits kube.Limits, output string, args []string, m *refsModes) error {
	if len(args) > maxCertNames {
		return withExit(ExitError, fmt.Errorf("--cert: %d names; at most %d", len(args), maxCertNames))
	}
	if m.dialTimeout <= 0 {
		return withExit(ExitError, fmt.Errorf("--dial-timeout %s: want a positive duration", m.dialTimeout))
	}
	names, err := address.ParseQueries(args)
	if err != nil {
		return withExit(ExitError, err)
	}
	var servers []refs.Server
	var notRead []string
	var fetch refs.Fetch
	if len(snapshots) > 0 {
		lr, err := kube.LoadVisit(snapshots, nil, nil, nil, limits)
		if err != nil {
			return withExit(ExitError, withLimitHint(err))
		}
		api := lr.Snapshot.Info.APIServer
		if api == nil || api.Certificate == nil {
			return withExit(ExitError, errors.New("--cert --snapshot: the snapshot holds no serving certificate (premortem snapshot save records it; kubectl output does not)"))
		}
		servers = append(servers, refs.Server{Address: api.Server, Via: "recorded in the snapshot", Certificate: api.Certificate})
	} else {
		cfg, err := restConfig(flags, kube.ClientOptions{UserAgent: userAgent()})
		if err != nil {
			return err
		}
		addrs, err := kube.APIServerAddresses(ctx, cfg, flags.ChunkSize())
		if err != nil {
			notRead = append(notRead, err.Error())
		}
		for _, a := range addrs {
			servers = append(servers, refs.Server{Address: a.Address, Via: a.Via})
		}
		fetch = func(ctx context.Context, addr, serverName string) (*snapshot.Certificate, error) {
			if cfg.Proxy != nil {
				return nil, errors.New("the API server is reached through a proxy: certificate not read")
			}
			c, err := kube.PeerCertificate(ctx, cfg.Dial, addr, serverName, m.dialTimeout)
			if err != nil {
				return nil, err
			}
			return kube.DescribeCertificate(c), nil
		}
	}
	res := refs.CheckCertificates(ctx, servers, names, fetch, notRead)
	if err := refs.WriteCertificates(e.Out, output, res); err != nil {
		return withExit(ExitError, err)
	}
	switch {
	case res.Uncovered() > 0:
		return withExit(ExitFindings, nil)
	case !res.Complete():
		return withExit(ExitIncomplete, nil)
	}
	return nil
}

func runRefsAudit(ctx context.Context, e *env, flags *kube.Flags, snapshots []string, limits kube.Limits, output string, args []string, m *refsModes) error {
	if flags.Namespace() != "" {
		return withExit(ExitError, errors.New("-n does not apply to --audit: the addresses of every node and pod are needed"))
	}
	if m.maxIdentities < 1 {
		return withExit(ExitError, fmt.Errorf("--max-identities %d: want at least 1", m.maxIdentities))
	}
	var cidrs []netip.Prefix
	for _, c := range m.clusterCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--cluster-cidr %q: %w", c, err))
		}
		cidrs = append(cidrs, p.Masked())
	}
	inputs, notes, err := audit.Inputs(args, e.In)
	if err != nil {
		return withExit(ExitError, err)
	}
	inside := refs.NewInside(cidrs)
	var snap *snapshot.Snapshot
	if len(snapshots) > 0 {
		lr, err := kube.LoadVisit(snapshots, refs.InsideReads, []snapshot.Resource{snapshot.Pods}, inside.Visit, limits)
		if err != nil {
			return withExit(ExitError, withLimitHint(err))
		}
		notes = append(notes, lr.Notes...)
		snap = lr.Snapshot
		if lr.HasInfo {
			snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: snapshot.Pods,
				Reason: "pod IPs are not saved in a premortem snapshot; read the cluster, or kubectl get pods -A -o json output"})
		}
	} else {
		cfg, err := restConfig(flags, kube.ClientOptions{UserAgent: userAgent()})
		if err != nil {
			return err
		}
		r := &kube.Reader{Config: cfg, PageSize: flags.ChunkSize(), Visit: inside.Visit, Log: e.log}
		p := newProgress(e.ErrOut, 100*time.Millisecond, 0)
		r.Progress = readProgress(p)
		rr, err := r.Read(ctx, refs.InsideReads)
		p.done()
		if err != nil {
			return withExit(ExitError, err)
		}
		snap = rr.Snapshot
	}
	for _, n := range notes {
		e.warn(n)
	}
	inside.AddSnapshot(snap)
	bar := newProgress(e.ErrOut, 200*time.Millisecond, 500*time.Millisecond)
	rep, err := audit.Analyze(ctx, inputs, audit.Options{Progress: byteProgress(bar),
		Outside: &audit.OutsideOptions{Classify: inside.Classify, MaxIdentities: m.maxIdentities}})
	bar.done()
	if err != nil {
		return withExit(ExitError, err)
	}
	if rep.Events == 0 {
		return withExit(ExitError, fmt.Errorf("no audit event in the input (%d lines, %d malformed): want audit.k8s.io/v1 JSON lines", rep.Lines, rep.Malformed))
	}
	res := refs.NewOutsideResult(rep, inside, snap.Info.Skipped)
	if err := refs.WriteOutside(e.Out, output, res); err != nil {
		return withExit(ExitError, err)
	}
	switch {
	case len(res.Identities) > 0 || res.DroppedRequests > 0:
		return withExit(ExitFindings, nil)
	case !res.Complete():
		return withExit(ExitIncomplete, nil)
	}
	return nil
}
