package scenario

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Sizes of the etcd scenarios: each is above its check's default threshold
// (configmap-near-size-limit 75% of 1 MiB, replicaset-history 25 old
// ReplicaSets, helm-release-history 30 records, churn-without-quota 50
// objects a week).
const (
	EtcdStateBytes    = 830_000
	EtcdOldRSs        = 27
	EtcdHelmRevisions = 34
	EtcdChurnJobs     = 55
)

// The etcd scenarios (incidents 250-279), each in its own etcd-* namespace.
var _ = register(
	Scenario{Name: "254-replicaset-history", Incident: "254", apply: replicaSetHistory,
		Summary: fmt.Sprintf("a Deployment in etcd-deploys with revisionHistoryLimit 100 keeping %d old ReplicaSets, one per rollout", EtcdOldRSs)},
	Scenario{Name: "258-configmap-near-size-limit", Incident: "258",
		apply: func(ctx context.Context, e *env) error {
			return e.apply.applyFile(ctx, "etcd-258-configmap-size.yaml", map[string]any{"State": strings.Repeat("a", EtcdStateBytes)})
		},
		Summary: fmt.Sprintf("a controller's state ConfigMap in etcd-state holding %d bytes, 79%% of the 1 MiB object limit", EtcdStateBytes)},
	Scenario{Name: "259-helm-release-history", Incident: "259",
		apply: func(ctx context.Context, e *env) error {
			return e.apply.applyFile(ctx, "etcd-259-helm-history.yaml", map[string]any{"Revisions": upTo(EtcdHelmRevisions)})
		},
		Summary: fmt.Sprintf("a Helm release in etcd-helm upgraded without --history-max: %d release record Secrets", EtcdHelmRevisions)},
	Scenario{Name: "261-churn-without-quota", Incident: "261",
		apply: func(ctx context.Context, e *env) error {
			return e.apply.applyFile(ctx, "etcd-261-churn.yaml", map[string]any{"Runs": upTo(EtcdChurnJobs)})
		},
		Summary: fmt.Sprintf("%d (suspended) Jobs of a maintenance script in etcd-churn, which has no ResourceQuota on object counts", EtcdChurnJobs)},
)

// upTo returns 1..n.
func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// replicaSetHistory creates the Deployment, then its old ReplicaSets owned
// by it (scaled to zero, as the deployment controller leaves them), so that
// the lab need not roll it out 27 times.
func replicaSetHistory(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	type old struct {
		Hash     string
		Revision int
	}
	data := map[string]any{"Builds": EtcdOldRSs + 1, "Old": []old(nil), "UID": ""}
	if err := e.apply.applyFile(ctx, "etcd-254-replicaset-history.yaml", data); err != nil {
		return err
	}
	d, err := e.cluster.Client.AppsV1().Deployments("etcd-deploys").Get(ctx, "storefront", metav1.GetOptions{})
	if err != nil {
		return err
	}
	var olds []old
	for i := 1; i <= EtcdOldRSs; i++ {
		olds = append(olds, old{Hash: fmt.Sprintf("b%07d", i), Revision: i})
	}
	data["Old"], data["UID"] = olds, string(d.UID)
	return e.apply.applyFile(ctx, "etcd-254-replicaset-history.yaml", data)
}
