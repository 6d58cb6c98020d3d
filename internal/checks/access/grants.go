package access

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

// Grant is a cluster-wide permission to list or watch a resource, with the
// ClusterRoleBinding and ClusterRole it comes from.
type Grant = grant

// ClusterWideGrants returns the cluster-wide list and watch grants of the
// ServiceAccount namespace/name on resources ("pods,nodes",
// "endpointslices.discovery.k8s.io"), from the snapshot's
// ClusterRoleBindings and ClusterRoles (aggregated roles included). It is
// the evaluation cluster-wide-node-agent uses, for the checks of other
// areas.
func ClusterWideGrants(snap *snapshot.Snapshot, namespace, name, resources string) []Grant {
	return newRBAC(snap).listWatch(namespace, name, parseResources(resources))
}

// ServiceAccountOf returns the ServiceAccount a pod spec runs as.
func ServiceAccountOf(spec *corev1.PodSpec) string { return serviceAccountOf(spec) }
