package restart

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// ReadOptions say what Read reads and how.
type ReadOptions struct {
	// Namespace narrows the workloads and PDBs; "" reads all namespaces.
	Namespace string
	// PageSize is the LIST page size; default kube.DefaultPageSize.
	PageSize int64
	// Log receives the kinds not read; nil discards.
	Log *slog.Logger
}

// The planner decides from workload status, pod templates, PDBs, node
// image lists and Calico's BGP settings: never Pods. All three workload kinds are read even when
// --kind leaves some out: dependency peers (calico-node for typha) are
// checked either way.
var (
	requiredKinds = []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets}
	optionalKinds = []snapshot.Resource{snapshot.PodDisruptionBudgets, snapshot.Nodes, snapshot.BGPConfigurations, snapshot.BGPPeers}
	// calicoKinds are served only where Calico is installed: their absence
	// is normal, not worth a warning.
	calicoKinds = []snapshot.Resource{snapshot.BGPConfigurations, snapshot.BGPPeers}
)

// Read lists what the planner needs with kube.Reader, as every verb reads:
// one paginated LIST per kind, first page from the watch cache, the same
// trimming as a scan. The workload kinds are required; Nodes and PDBs that
// cannot be read (RBAC, not served) are recorded in Info.Skipped and the
// plan says which gates went unchecked.
func Read(ctx context.Context, cfg *rest.Config, o ReadOptions) (*snapshot.Snapshot, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &kube.Reader{Config: cfg, Namespace: o.Namespace, PageSize: o.PageSize, Log: log}
	res, err := r.Read(ctx, append(append([]snapshot.Resource(nil), requiredKinds...), optionalKinds...))
	if err != nil {
		return nil, err
	}
	return planInput(res, log)
}

// planInput is the snapshot of a read, if it holds what a plan needs.
func planInput(res *kube.ReadResult, log *slog.Logger) (*snapshot.Snapshot, error) {
	snap := res.Snapshot
	for _, k := range requiredKinds {
		if reason, skipped := snap.Info.SkipReason(k); skipped {
			return nil, fmt.Errorf("list %s: %s", k.Name(), reason)
		}
		if res.Pages[k] == 0 {
			return nil, fmt.Errorf("list %s: not served by the cluster", k.Name())
		}
	}
	for _, k := range optionalKinds {
		reason, skipped := snap.Info.SkipReason(k)
		if !skipped && res.Pages[k] == 0 {
			// Not served: the Reader counts it read (there are none), but
			// the plan must not take that for "no PDBs".
			reason, skipped = notServed, true
			snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: k, Reason: reason})
		}
		if skipped && reason == notServed && slices.Contains(calicoKinds, k) {
			log.Debug("not served", "resource", k.Name())
		} else if skipped {
			log.Warn("not read", "resource", k.Name(), "reason", reason)
		}
	}
	return snap, nil
}
