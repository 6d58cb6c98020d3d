package kube

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lastApplied is kubectl's copy of the whole applied object: as large as the
// object itself and read by no check.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// interner makes repeated values share one copy: strings (namespaces, label
// keys and values, node names, images) and, for pods, whole label maps,
// owner references and container lists, which every pod of a ReplicaSet
// repeats. On 150,000 pods that is a third of the memory. Shared values are
// read-only: checks never modify a snapshot. Not safe for concurrent use:
// each kind's reader has its own. A nil interner interns nothing.
type interner map[string]any

func (in interner) str(s string) string {
	if in == nil || s == "" {
		return s
	}
	if v, ok := in[s].(string); ok {
		return v
	}
	in[s] = s
	return s
}

// shared returns the value interned under key, or make()'s result, interned.
// Keys start with a byte no plain string interned by str starts with.
func shared[T any](in interner, key string, make func() T) T {
	if in == nil {
		return make()
	}
	if v, ok := in[key].(T); ok {
		return v
	}
	v := make()
	in[strings.Clone(key)] = v
	return v
}

func (in interner) labels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	b.WriteString("\x00labels")
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + m[k])
	}
	return shared(in, b.String(), func() map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[in.str(k)] = in.str(v)
		}
		return out
	})
}

func (in interner) owners(refs []metav1.OwnerReference) []metav1.OwnerReference {
	if len(refs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\x00owners")
	for _, r := range refs {
		fmt.Fprintf(&b, "\x00%s/%s/%s/%s/%v/%v", r.APIVersion, r.Kind, r.Name, r.UID, ptrString(r.Controller), ptrString(r.BlockOwnerDeletion))
	}
	return shared(in, b.String(), func() []metav1.OwnerReference {
		out := make([]metav1.OwnerReference, len(refs))
		for i, r := range refs {
			out[i] = metav1.OwnerReference{
				APIVersion: in.str(r.APIVersion), Kind: in.str(r.Kind), Name: in.str(r.Name),
				UID: r.UID, Controller: r.Controller, BlockOwnerDeletion: r.BlockOwnerDeletion,
			}
		}
		return out
	})
}

func ptrString(b *bool) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprint(*b)
}

// trimMeta drops managedFields and the last-applied annotation, the two
// metadata fields that are large and read by no check. It edits m in place.
func trimMeta(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	if _, ok := m.Annotations[lastApplied]; ok {
		a := make(map[string]string, len(m.Annotations)-1)
		for k, v := range m.Annotations {
			if k != lastApplied {
				a[k] = v
			}
		}
		if len(a) == 0 {
			a = nil
		}
		m.Annotations = a
	}
}

// trimPartial trims a metadata-only object the same way.
func trimPartial(p *metav1.PartialObjectMetadata) metav1.PartialObjectMetadata {
	out := metav1.PartialObjectMetadata{ObjectMeta: p.ObjectMeta}
	trimMeta(&out.ObjectMeta)
	return out
}

// trimPod keeps the Pod fields listed in the team contract and nothing else:
// a pod of ~16 KB of JSON becomes a few hundred bytes in memory.
func trimPod(p *corev1.Pod, in interner) corev1.Pod {
	out := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:              p.Name,
			Namespace:         in.str(p.Namespace),
			UID:               p.UID,
			Labels:            in.labels(p.Labels),
			OwnerReferences:   in.owners(p.OwnerReferences),
			CreationTimestamp: p.CreationTimestamp,
			DeletionTimestamp: p.DeletionTimestamp,
		},
		Spec: corev1.PodSpec{
			NodeName:           in.str(p.Spec.NodeName),
			PriorityClassName:  in.str(p.Spec.PriorityClassName),
			Priority:           p.Spec.Priority,
			ServiceAccountName: in.str(p.Spec.ServiceAccountName),
			HostNetwork:        p.Spec.HostNetwork,
			Containers:         trimContainers(p.Spec.Containers, in),
			InitContainers:     trimContainers(p.Spec.InitContainers, in),
		},
		Status: corev1.PodStatus{
			Phase:                 corev1.PodPhase(in.str(string(p.Status.Phase))),
			Reason:                in.str(p.Status.Reason),
			Conditions:            trimPodConditions(p.Status.Conditions, in),
			ContainerStatuses:     trimStatuses(p.Status.ContainerStatuses, in),
			InitContainerStatuses: trimStatuses(p.Status.InitContainerStatuses, in),
		},
	}
	return out
}

func trimContainers(cs []corev1.Container, in interner) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\x00containers")
	for _, c := range cs {
		b.WriteString("\x00" + c.Name + "\x00" + c.Image)
	}
	return shared(in, b.String(), func() []corev1.Container {
		out := make([]corev1.Container, len(cs))
		for i, c := range cs {
			out[i] = corev1.Container{Name: in.str(c.Name), Image: in.str(c.Image)}
		}
		return out
	})
}

// keptPodCondition tells the pod conditions checks read: Ready (whether a
// pod serves, and since when) and PodScheduled while it is not True (why a
// pod waits). The others repeat them: at 150,000 pods they were 53 MB.
func keptPodCondition(c *corev1.PodCondition) bool {
	return c.Type == corev1.PodReady || c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue
}

func trimPodConditions(cs []corev1.PodCondition, in interner) []corev1.PodCondition {
	n := 0
	for i := range cs {
		if keptPodCondition(&cs[i]) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]corev1.PodCondition, 0, n)
	for i := range cs {
		if c := &cs[i]; keptPodCondition(c) {
			out = append(out, corev1.PodCondition{
				Type: corev1.PodConditionType(in.str(string(c.Type))), Status: corev1.ConditionStatus(in.str(string(c.Status))),
				LastProbeTime: c.LastProbeTime, LastTransitionTime: c.LastTransitionTime,
				Reason: in.str(c.Reason), Message: c.Message, ObservedGeneration: c.ObservedGeneration,
			})
		}
	}
	return out
}

func trimStatuses(ss []corev1.ContainerStatus, in interner) []corev1.ContainerStatus {
	if len(ss) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(ss))
	for i, s := range ss {
		out[i] = corev1.ContainerStatus{
			Name: in.str(s.Name), Ready: s.Ready, RestartCount: s.RestartCount, Image: in.str(s.Image),
			State: trimState(s.State, in), LastTerminationState: trimState(s.LastTerminationState, in),
		}
	}
	var key []byte
	return keepStatuses(out, in, &key, false)
}

// keepStatuses returns trimmed statuses as a pod keeps them. Plain ones
// (running or not yet started, never terminated: the pods of a healthy
// ReplicaSet) are shared by every pod whose statuses are equal, as
// container lists are; at 150,000 pods that was 70 MB. Others are ss, or a
// copy of it when ss is the caller's scratch. key is a reused buffer.
func keepStatuses(ss []corev1.ContainerStatus, in interner, key *[]byte, scratch bool) []corev1.ContainerStatus {
	if len(ss) == 0 {
		return nil
	}
	own := func() []corev1.ContainerStatus {
		if scratch {
			return slices.Clone(ss)
		}
		return ss
	}
	if in == nil {
		return own()
	}
	k, plain := appendStatusesKey((*key)[:0], ss)
	*key = k
	if !plain {
		return own()
	}
	if v, ok := in[string(k)].([]corev1.ContainerStatus); ok {
		return v
	}
	v := own()
	in[string(k)] = v
	return v
}

// appendStatusesKey appends to k what makes trimmed statuses equal, and
// whether they are plain enough to share.
func appendStatusesKey(k []byte, ss []corev1.ContainerStatus) ([]byte, bool) {
	k = append(k, "\x00statuses"...)
	for i := range ss {
		s := &ss[i]
		if s.State.Waiting != nil || s.State.Terminated != nil || s.LastTerminationState != (corev1.ContainerState{}) {
			return k, false
		}
		k = append(append(append(append(k, 0), s.Name...), 0), s.Image...)
		k = strconv.AppendInt(append(strconv.AppendBool(append(k, 0), s.Ready), '/'), int64(s.RestartCount), 10)
		if s.State.Running != nil {
			k = append(k, "/running"...)
		}
	}
	return k, true
}

// trimState drops when a container started running: no check reads it, and
// without it the statuses of a ReplicaSet's healthy pods are equal.
func trimState(s corev1.ContainerState, in interner) corev1.ContainerState {
	if w := s.Waiting; w != nil {
		s.Waiting = &corev1.ContainerStateWaiting{Reason: in.str(w.Reason), Message: w.Message}
	}
	if s.Running != nil {
		s.Running = &corev1.ContainerStateRunning{}
	}
	if t := s.Terminated; t != nil {
		c := *t
		c.Reason = in.str(c.Reason)
		s.Terminated = &c
	}
	return s
}

// trimNode keeps the Node fields listed in the team contract.
func trimNode(n *corev1.Node, in interner) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              n.Name,
			UID:               n.UID,
			Labels:            in.labels(n.Labels),
			CreationTimestamp: n.CreationTimestamp,
			DeletionTimestamp: n.DeletionTimestamp,
		},
		// Pod CIDRs: refs --audit counts clients in them as pods.
		Spec: corev1.NodeSpec{Unschedulable: n.Spec.Unschedulable, Taints: n.Spec.Taints, PodCIDR: n.Spec.PodCIDR, PodCIDRs: n.Spec.PodCIDRs},
		Status: corev1.NodeStatus{
			Conditions:  n.Status.Conditions,
			NodeInfo:    n.Status.NodeInfo,
			Images:      trimImages(n.Status.Images, in),
			Addresses:   n.Status.Addresses,
			Capacity:    n.Status.Capacity,
			Allocatable: n.Status.Allocatable,
		},
	}
}

// trimImages shares the image lists of nodes that hold the same images (a
// node pool pulls the same DaemonSet and workload images) and the names
// in them: 5,000 nodes with 40 images each are otherwise 75 MB.
func trimImages(images []corev1.ContainerImage, in interner) []corev1.ContainerImage {
	if len(images) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\x00images")
	for _, img := range images {
		fmt.Fprintf(&b, "\x00%d", img.SizeBytes)
		for _, n := range img.Names {
			b.WriteString("\x00" + n)
		}
	}
	return shared(in, b.String(), func() []corev1.ContainerImage {
		out := make([]corev1.ContainerImage, len(images))
		for i, img := range images {
			names := make([]string, len(img.Names))
			for j, n := range img.Names {
				names[j] = in.str(n)
			}
			out[i] = corev1.ContainerImage{Names: names, SizeBytes: img.SizeBytes}
		}
		return out
	})
}
