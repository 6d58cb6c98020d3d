package kube

import (
	"github.com/premortem/premortem/internal/snapshot"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controlPlaneKinds are the kinds the control-plane access checks read:
// who may watch what (RBAC), which priority level serves them (API Priority
// and Fairness), which API servers exist (identity Leases), and what the
// workloads are configured with (ConfigMap data).
func controlPlaneKinds() []*kindSpec {
	return []*kindSpec{
		configMapKind(),
		leaseKind(),
		fullKind[rbacv1.ClusterRole, rbacv1.ClusterRoleList](snapshot.ClusterRoles, nil, func(s *snapshot.Snapshot) *[]rbacv1.ClusterRole { return &s.ClusterRoles }),
		fullKind[rbacv1.ClusterRoleBinding, rbacv1.ClusterRoleBindingList](snapshot.ClusterRoleBindings, nil, func(s *snapshot.Snapshot) *[]rbacv1.ClusterRoleBinding { return &s.ClusterRoleBindings }),
		fullKind[flowcontrolv1.FlowSchema, flowcontrolv1.FlowSchemaList](snapshot.FlowSchemas, nil, func(s *snapshot.Snapshot) *[]flowcontrolv1.FlowSchema { return &s.FlowSchemas }),
		fullKind[flowcontrolv1.PriorityLevelConfiguration, flowcontrolv1.PriorityLevelConfigurationList](snapshot.PriorityLevelConfigurations, nil, func(s *snapshot.Snapshot) *[]flowcontrolv1.PriorityLevelConfiguration {
			return &s.PriorityLevelConfigurations
		}),
	}
}

// leaseKind reads the Leases the checks use: leader election and API
// server identity, in kube-system or wherever a leader lock lives. Not
// the kubelets' heartbeats in kube-node-lease: no check reads them, and on
// a large cluster they are most Leases, each renewed every 10 seconds, a
// steady stream of events into an agent's watch (500 a second at 5,000
// nodes) for nothing.
func leaseKind() *kindSpec {
	k := fullKind[coordinationv1.Lease, coordinationv1.LeaseList](snapshot.Leases, nil, func(s *snapshot.Snapshot) *[]coordinationv1.Lease { return &s.Leases })
	return narrowed(k, "metadata.namespace!="+corev1.NamespaceNodeLease)
}

// configMapKind reads ConfigMaps whole from files: the access checks look
// for API server addresses in the configuration workloads mount. The same
// objects fill Metadata[ConfigMaps], so checks that count ConfigMaps see
// them as before. binaryData is dropped. A live read or an agent's watch
// lists the kind metadata-only and reads data by name (liveSpecFor,
// configmapdata.go).
func configMapKind() *kindSpec {
	k := fullKind[corev1.ConfigMap, corev1.ConfigMapList](snapshot.ConfigMaps, trimConfigMap, func(s *snapshot.Snapshot) *[]corev1.ConfigMap { return &s.ConfigMaps })
	addFull, objectsFull, growFull, resetFull := k.add, k.objects, k.grow, k.reset
	meta := metadataKind(snapshot.ConfigMaps)
	k.grow = func(s *snapshot.Snapshot, n int) { growFull(s, n); meta.grow(s, n) }
	k.reset = func(s *snapshot.Snapshot) { resetFull(s); meta.reset(s) }
	k.add = func(s *snapshot.Snapshot, p page) {
		addFull(s, p)
		if s.Metadata == nil {
			s.Metadata = map[snapshot.Resource][]metav1.PartialObjectMetadata{}
		}
		for _, cm := range p.items.([]corev1.ConfigMap) {
			s.Metadata[snapshot.ConfigMaps] = append(s.Metadata[snapshot.ConfigMaps], metav1.PartialObjectMetadata{ObjectMeta: cm.ObjectMeta})
		}
	}
	k.objects = func(s *snapshot.Snapshot, emit func(any) error) error {
		// A live read keeps the data of some ConfigMaps only (the rest in
		// Metadata; configmapdata.go), an older file none: the ones with
		// data whole, the others as metadata.
		if err := objectsFull(s, emit); err != nil {
			return err
		}
		whole := make(map[string]bool, len(s.ConfigMaps))
		for i := range s.ConfigMaps {
			whole[s.ConfigMaps[i].Namespace+"/"+s.ConfigMaps[i].Name] = true
		}
		for _, o := range s.Metadata[snapshot.ConfigMaps] {
			if whole[o.Namespace+"/"+o.Name] {
				continue
			}
			o.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
			if err := emit(&o); err != nil {
				return err
			}
		}
		return nil
	}
	return k
}

func trimConfigMap(cm *corev1.ConfigMap, in interner) corev1.ConfigMap {
	trimMeta(&cm.ObjectMeta)
	cm.Namespace = in.str(cm.Namespace)
	cm.Labels = in.labels(cm.Labels)
	cm.TypeMeta = metav1.TypeMeta{}
	cm.BinaryData = nil
	return *cm
}
