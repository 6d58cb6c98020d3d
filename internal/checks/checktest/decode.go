package checktest

import (
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/snapshot"
)

// metadataKinds are the kinds the read path lists metadata-only.
var metadataKinds = []snapshot.Resource{
	snapshot.ConfigMaps, snapshot.Secrets, snapshot.ServiceAccounts, snapshot.NetworkPolicies,
	snapshot.ReplicaSets, snapshot.CronJobs, snapshot.Ingresses, snapshot.CRDs,
	snapshot.CalicoNetworkPolicies,
}

var fullKinds = []snapshot.Resource{
	snapshot.Namespaces, snapshot.Nodes, snapshot.Pods, snapshot.Services, snapshot.EndpointSlices,
	snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs,
	snapshot.PodDisruptionBudgets, snapshot.APIServices,
	snapshot.Leases, snapshot.ClusterRoles, snapshot.ClusterRoleBindings, snapshot.FlowSchemas,
	snapshot.PriorityLevelConfigurations,
}

// resourceByName finds a resource by its kubectl name ("pods", "networkpolicies.networking.k8s.io").
func resourceByName(name string) (snapshot.Resource, error) {
	res, group, _ := strings.Cut(name, ".")
	for _, r := range append(append([]snapshot.Resource(nil), fullKinds...), metadataKinds...) {
		if r.Resource == res && r.Group == group {
			return r, nil
		}
	}
	return snapshot.Resource{}, fmt.Errorf("unknown resource %q", name)
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Decode reads a kubectl List (YAML or JSON) into a snapshot.
func Decode(data []byte) (*snapshot.Snapshot, error) {
	var list struct {
		typeMeta
		Items []json.RawMessage `json:"items"`
	}
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if list.Kind != "List" && !strings.HasSuffix(list.Kind, "List") {
		return nil, fmt.Errorf("decode list: kind %q is not a List", list.Kind)
	}
	snap := &snapshot.Snapshot{Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{}}
	for i, raw := range list.Items {
		if err := add(snap, raw); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return snap, nil
}

func add(snap *snapshot.Snapshot, raw json.RawMessage) error {
	var tm typeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return err
	}
	group, _, _ := strings.Cut(tm.APIVersion, "/")
	if !strings.Contains(tm.APIVersion, "/") {
		group = ""
	}
	switch {
	case group == "" && tm.Kind == "Namespace":
		return decodeInto(raw, &snap.Namespaces)
	case group == "" && tm.Kind == "Node":
		var n corev1.Node
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		snap.Nodes = append(snap.Nodes, TrimNode(n))
		return nil
	case group == "" && tm.Kind == "Pod":
		var p corev1.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		snap.Pods = append(snap.Pods, TrimPod(p))
		return nil
	case group == "" && tm.Kind == "Service":
		return decodeInto(raw, &snap.Services)
	case group == "discovery.k8s.io" && tm.Kind == "EndpointSlice":
		return decodeInto[discoveryv1.EndpointSlice](raw, &snap.EndpointSlices)
	case group == "apps" && tm.Kind == "Deployment":
		return decodeInto[appsv1.Deployment](raw, &snap.Deployments)
	case group == "apps" && tm.Kind == "DaemonSet":
		return decodeInto[appsv1.DaemonSet](raw, &snap.DaemonSets)
	case group == "apps" && tm.Kind == "StatefulSet":
		return decodeInto[appsv1.StatefulSet](raw, &snap.StatefulSets)
	case group == "batch" && tm.Kind == "Job":
		return decodeInto[batchv1.Job](raw, &snap.Jobs)
	case group == "policy" && tm.Kind == "PodDisruptionBudget":
		return decodeInto[policyv1.PodDisruptionBudget](raw, &snap.PodDisruptionBudgets)
	case group == "" && tm.Kind == "ConfigMap":
		// Read whole (data kept, binaryData dropped) and as metadata, as
		// the read path does.
		var cm corev1.ConfigMap
		if err := json.Unmarshal(raw, &cm); err != nil {
			return err
		}
		cm.ManagedFields, cm.BinaryData = nil, nil
		snap.ConfigMaps = append(snap.ConfigMaps, cm)
		snap.Metadata[snapshot.ConfigMaps] = append(snap.Metadata[snapshot.ConfigMaps], metav1.PartialObjectMetadata{ObjectMeta: cm.ObjectMeta})
		return nil
	case group == "coordination.k8s.io" && tm.Kind == "Lease":
		return decodeInto[coordinationv1.Lease](raw, &snap.Leases)
	case group == "rbac.authorization.k8s.io" && tm.Kind == "ClusterRole":
		return decodeInto[rbacv1.ClusterRole](raw, &snap.ClusterRoles)
	case group == "rbac.authorization.k8s.io" && tm.Kind == "ClusterRoleBinding":
		return decodeInto[rbacv1.ClusterRoleBinding](raw, &snap.ClusterRoleBindings)
	case group == "flowcontrol.apiserver.k8s.io" && tm.Kind == "FlowSchema":
		return decodeInto[flowcontrolv1.FlowSchema](raw, &snap.FlowSchemas)
	case group == "flowcontrol.apiserver.k8s.io" && tm.Kind == "PriorityLevelConfiguration":
		return decodeInto[flowcontrolv1.PriorityLevelConfiguration](raw, &snap.PriorityLevelConfigurations)
	case group == "apiregistration.k8s.io" && tm.Kind == "APIService":
		var a struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     struct {
				Service *snapshot.ServiceReference `json:"service"`
				Group   string                     `json:"group"`
				Version string                     `json:"version"`
			} `json:"spec"`
			Status struct {
				Conditions []snapshot.APIServiceCondition `json:"conditions"`
			} `json:"status"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		snap.APIServices = append(snap.APIServices, snapshot.APIService{ObjectMeta: a.Metadata,
			Service: a.Spec.Service, Group: a.Spec.Group, Version: a.Spec.Version, Conditions: a.Status.Conditions})
		return nil
	}
	for _, r := range metadataKinds {
		if r.Group == group && r.Kind == tm.Kind {
			var m metav1.PartialObjectMetadata
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			m.ManagedFields = nil
			snap.Metadata[r] = append(snap.Metadata[r], m)
			return nil
		}
	}
	return fmt.Errorf("kind %s %s is not in the snapshot contract", tm.APIVersion, tm.Kind)
}

func decodeInto[T any](raw json.RawMessage, dst *[]T) error {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}

// TrimPod keeps only the Pod fields the live read keeps (team contract).
func TrimPod(in corev1.Pod) corev1.Pod {
	var p corev1.Pod
	p.Name, p.Namespace, p.UID, p.Labels = in.Name, in.Namespace, in.UID, in.Labels
	p.OwnerReferences, p.CreationTimestamp, p.DeletionTimestamp = in.OwnerReferences, in.CreationTimestamp, in.DeletionTimestamp
	s := in.Spec
	p.Spec = corev1.PodSpec{NodeName: s.NodeName, PriorityClassName: s.PriorityClassName, Priority: s.Priority,
		ServiceAccountName: s.ServiceAccountName, HostNetwork: s.HostNetwork}
	for _, c := range s.Containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	for _, c := range s.InitContainers {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	st := in.Status
	p.Status = corev1.PodStatus{Phase: st.Phase, Reason: st.Reason, Conditions: st.Conditions, StartTime: st.StartTime}
	trimCS := func(in []corev1.ContainerStatus) []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for _, c := range in {
			out = append(out, corev1.ContainerStatus{Name: c.Name, Ready: c.Ready, RestartCount: c.RestartCount,
				Image: c.Image, State: c.State, LastTerminationState: c.LastTerminationState})
		}
		return out
	}
	p.Status.ContainerStatuses = trimCS(st.ContainerStatuses)
	p.Status.InitContainerStatuses = trimCS(st.InitContainerStatuses)
	return p
}

// TrimNode keeps only the Node fields the live read keeps (team contract).
func TrimNode(in corev1.Node) corev1.Node {
	var n corev1.Node
	n.Name, n.UID, n.Labels, n.CreationTimestamp, n.DeletionTimestamp = in.Name, in.UID, in.Labels, in.CreationTimestamp, in.DeletionTimestamp
	n.Spec = corev1.NodeSpec{Unschedulable: in.Spec.Unschedulable, Taints: in.Spec.Taints}
	st := in.Status
	n.Status = corev1.NodeStatus{Conditions: st.Conditions, NodeInfo: st.NodeInfo, Images: st.Images,
		Addresses: st.Addresses, Capacity: st.Capacity, Allocatable: st.Allocatable}
	return n
}
