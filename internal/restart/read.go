package restart

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/premortem/premortem/internal/snapshot"
)

// pageSize is the LIST page size: small enough that a page never becomes a
// large response, large enough that a big cluster takes few round trips.
const pageSize = 500

// Read lists what the planner needs, cheaply: one paginated LIST per kind
// (Deployments, StatefulSets, DaemonSets, PodDisruptionBudgets in namespace,
// or everywhere when it is ""; Nodes), the first page served from the API
// server's watch cache (resourceVersion=0), never a LIST per namespace and
// never Pods: the planner decides from workload status, pod templates and
// node image lists. Nodes and PDBs that cannot be read (RBAC) are recorded in
// Info.Skipped and the plan says which gates went unchecked; the workload
// kinds are required.
func Read(ctx context.Context, client kubernetes.Interface, namespace string) (*snapshot.Snapshot, error) {
	snap := &snapshot.Snapshot{}
	apps := client.AppsV1()
	var err error
	// All three workload kinds are read even when --kind leaves some out:
	// dependency peers (calico-node for typha) are checked either way.
	if snap.Deployments, err = listAll(ctx, "deployments", func(o metav1.ListOptions) ([]appsv1.Deployment, string, error) {
		l, err := apps.Deployments(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return nil, err
	}
	if snap.StatefulSets, err = listAll(ctx, "statefulsets", func(o metav1.ListOptions) ([]appsv1.StatefulSet, string, error) {
		l, err := apps.StatefulSets(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return nil, err
	}
	if snap.DaemonSets, err = listAll(ctx, "daemonsets", func(o metav1.ListOptions) ([]appsv1.DaemonSet, string, error) {
		l, err := apps.DaemonSets(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return nil, err
	}
	for i := range snap.Deployments {
		trim(&snap.Deployments[i].ObjectMeta)
	}
	for i := range snap.StatefulSets {
		trim(&snap.StatefulSets[i].ObjectMeta)
	}
	for i := range snap.DaemonSets {
		trim(&snap.DaemonSets[i].ObjectMeta)
	}

	snap.PodDisruptionBudgets, err = listAll(ctx, "poddisruptionbudgets", func(o metav1.ListOptions) ([]policyv1.PodDisruptionBudget, string, error) {
		l, err := client.PolicyV1().PodDisruptionBudgets(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err := optional(snap, snapshot.PodDisruptionBudgets, err); err != nil {
		return nil, err
	}
	snap.Nodes, err = listAll(ctx, "nodes", func(o metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := client.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		// Keep what candidate-node matching and image lookup use.
		for i := range l.Items {
			n := &l.Items[i]
			trim(&n.ObjectMeta)
			n.Status = corev1.NodeStatus{Images: n.Status.Images}
		}
		return l.Items, l.Continue, nil
	})
	if err := optional(snap, snapshot.Nodes, err); err != nil {
		return nil, err
	}
	snap.Info.TakenAt = time.Now().UTC()
	return snap, nil
}

// optional records a forbidden or unserved kind as skipped; other errors
// are returned.
func optional(snap *snapshot.Snapshot, r snapshot.Resource, err error) error {
	if err == nil {
		return nil
	}
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		snap.Info.Skipped = append(snap.Info.Skipped, snapshot.Skipped{Resource: r, Reason: err.Error()})
		slog.Warn("not read", "resource", r.Resource, "err", err)
		return nil
	}
	return err
}

// listAll pages through one LIST. The first page asks for
// resourceVersion=0 (NotOlderThan): the API server answers from its watch
// cache instead of a quorum read of etcd; continue tokens carry the rest.
func listAll[T any](ctx context.Context, what string, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: pageSize, ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}
	for {
		items, cont, err := list(opts)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, items...)
		if cont == "" {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts = metav1.ListOptions{Limit: pageSize, Continue: cont}
	}
}

// trim drops what no decision uses and would only hold memory.
func trim(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	delete(m.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
}
