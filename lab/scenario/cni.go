package scenario

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// CNINamespace is where scenario 001-cni-at-limits runs Calico's Typha at
// its limits and a well-sized Cilium operator.
const CNINamespace = "calico-system"

var _ = register(Scenario{Name: "001-cni-at-limits", Incident: "001", apply: cniAtLimits,
	Summary: "calico-typha in calico-system with limits of 200m CPU and 128Mi, its two pods OOM-killed 4 times each; a cilium-operator next to it with room and no restart"})

// cniAtLimits writes, once kwok runs Typha's pods, the status their kubelet
// would after four OOM kills against the 128Mi limit.
func cniAtLimits(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "001-cni-headroom.yaml", nil); err != nil {
		return err
	}
	if _, err := waitPods(ctx, e, CNINamespace, "app.kubernetes.io/name=cilium-operator", 60*time.Second, readyPods(2)); err != nil {
		return err
	}
	pods, err := waitPods(ctx, e, CNINamespace, "k8s-app=calico-typha", 60*time.Second, readyPods(2))
	if err != nil {
		return err
	}
	client := e.cluster.Client.CoreV1().Pods(CNINamespace)
	for _, p := range pods {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := client.Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			killed := metav1.NewTime(time.Now().Add(-time.Minute))
			for i := range pod.Status.ContainerStatuses {
				cs := &pod.Status.ContainerStatuses[i]
				cs.RestartCount = 4
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "OOMKilled", StartedAt: metav1.NewTime(killed.Add(-5 * time.Minute)), FinishedAt: killed}}
			}
			_, err = client.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("mark %s OOM-killed: %w", p.Name, err)
		}
	}
	return nil
}
