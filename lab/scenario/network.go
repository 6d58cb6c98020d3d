package scenario

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/premortem/premortem/lab"
)

// Objects of the network scenarios, as premortem names them: the e2e test
// expects the network checks to report these.
const (
	NetDNSNamespace     = "net-dns"
	NetDNSDownNamespace = "net-dns-down"
	NetServices         = "net-services"
	NetControlPlane     = "net-control-plane"
	// NetPressureNode reports DiskPressure; NetOldKubelet and NetNewKubelet
	// run kubelets outside the version-skew policy of the lab's API server.
	NetPressureNode = "net-node-disk-pressure"
	NetOldKubelet   = "net-node-kubelet-old"
	NetNewKubelet   = "net-node-kubelet-new"
	// NetCordonedNodes were cordoned for a drain that never finished.
	NetCordonedNodes = "net-node-cordoned-"
	// NetServiceCount Services fill part of the lab's Service range.
	NetServiceCount = 12
)

var _ = register(
	Scenario{Name: "131-dns-undersized", Incident: "131", apply: dnsUndersized,
		Summary: "cluster DNS (CoreDNS) in net-dns run by a single replica without a system priority"},
	Scenario{Name: "135-kube-dns-no-endpoints", Incident: "135", apply: kubeDNSNoEndpoints,
		Summary: "a kube-dns Service in net-dns-down whose only CoreDNS pod never becomes ready"},
	Scenario{Name: "136-service-range", Incident: "136", apply: serviceRange,
		Summary: fmt.Sprintf("%d Services in net-services, one per application, taking ClusterIPs from the lab's /24 Service range", NetServiceCount)},
	Scenario{Name: "140-scheduler-lock-stale", Incident: "140", apply: schedulerLockStale,
		Summary: "a kube-scheduler leader Lease in net-control-plane last renewed an hour ago"},
	Scenario{Name: "143-kubelet-skew", Incident: "143", apply: kubeletSkew,
		Summary: "a node whose kubelet is newer than the API server and one four minor versions behind it"},
	Scenario{Name: "147-node-disk-pressure", Incident: "147", apply: nodeDiskPressure,
		Summary: "a node reporting DiskPressure, tainted against new pods"},
	Scenario{Name: "151-nodes-cordoned", Incident: "151", apply: nodesCordoned,
		Summary: "two nodes cordoned 30 hours ago for a drain that never finished"},
)

func dnsUndersized(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "network-131-dns-undersized.yaml", nil); err != nil {
		return err
	}
	_, err := waitPods(ctx, e, NetDNSNamespace, "k8s-app=coredns", 60*time.Second, func(pods []corev1.Pod) bool {
		return len(pods) == 1 && podReady(pods[0])
	})
	return err
}

func kubeDNSNoEndpoints(ctx context.Context, e *env) error {
	return e.apply.applyFile(ctx, "network-135-kube-dns-no-endpoints.yaml", nil)
}

func serviceRange(ctx context.Context, e *env) error {
	names := make([]string, NetServiceCount)
	for i := range names {
		names[i] = fmt.Sprintf("release-%02d", i+1)
	}
	return e.apply.applyFile(ctx, "network-136-service-range.yaml", map[string]any{"Services": names})
}

func schedulerLockStale(ctx context.Context, e *env) error {
	renewed := time.Now().Add(-time.Hour).UTC()
	micro := func(t time.Time) string { return t.Format(metav1.RFC3339Micro) }
	return e.apply.applyFile(ctx, "network-140-scheduler-lock.yaml", map[string]any{
		"Acquired": micro(renewed.Add(-24 * time.Hour)), "Renewed": micro(renewed)})
}

// kubeletSkew adds two kwok nodes: kubelets one minor version newer than the
// lab's API server and four behind it.
func kubeletSkew(ctx context.Context, e *env) error {
	return e.cluster.AddNodes(ctx,
		lab.NodeSpec{Name: NetNewKubelet, KubeletVersion: "v1.37.0"},
		lab.NodeSpec{Name: NetOldKubelet, KubeletVersion: "v1.32.9"},
	)
}

// nodeDiskPressure adds a kwok node and writes DiskPressure=True into its
// status. kwok keeps driving it, so pods on the node (DaemonSets tolerate
// the taint) keep running; its heartbeats keep the condition because of
// the node's label (lab/kwok-stages.yaml), whenever they read the node.
func nodeDiskPressure(ctx context.Context, e *env) error {
	spec := lab.NodeSpec{Name: NetPressureNode, Labels: map[string]string{"premortem.lab/disk-pressure": "true"}}
	if err := e.cluster.AddNodes(ctx, spec); err != nil {
		return err
	}
	nodes := e.cluster.Client.CoreV1().Nodes()
	set := func(ctx context.Context) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := nodes.Get(ctx, NetPressureNode, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			pressure := corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue,
				Reason: "KubeletHasDiskPressure", Message: "kubelet has disk pressure",
				LastHeartbeatTime: now, LastTransitionTime: now}
			found := false
			for i := range n.Status.Conditions {
				if n.Status.Conditions[i].Type == corev1.NodeDiskPressure {
					if n.Status.Conditions[i].Status == corev1.ConditionTrue {
						return nil
					}
					n.Status.Conditions[i], found = pressure, true
				}
			}
			if !found {
				n.Status.Conditions = append(n.Status.Conditions, pressure)
			}
			_, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		})
	}
	// Heartbeats write the condition only 30-65 s apart, and a scan may
	// come sooner: write it now, until it has held for two seconds.
	held := 0
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := nodes.Get(ctx, NetPressureNode, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeDiskPressure && c.Status == corev1.ConditionTrue {
				held++
				return held >= 4, nil
			}
		}
		held = 0
		return false, set(ctx)
	})
}

// nodesCordoned adds two kwok nodes and cordons them as kubectl cordon
// would have 30 hours ago: spec.unschedulable and the node controller's
// taint, written with its old timeAdded in the same update so that the
// controller finds it in place.
func nodesCordoned(ctx context.Context, e *env) error {
	names := []string{NetCordonedNodes + "1", NetCordonedNodes + "2"}
	var specs []lab.NodeSpec
	for _, n := range names {
		specs = append(specs, lab.NodeSpec{Name: n})
	}
	if err := e.cluster.AddNodes(ctx, specs...); err != nil {
		return err
	}
	since := metav1.NewTime(time.Now().Add(-30 * time.Hour))
	nodes := e.cluster.Client.CoreV1().Nodes()
	for _, name := range names {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := nodes.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Spec.Unschedulable = true
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &since})
			_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("cordon %s: %w", name, err)
		}
	}
	return nil
}
