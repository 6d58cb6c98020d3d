package scenario

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/premortem/premortem/lab"
)

// RolloutTaintedNode is the node scenario 223 taints against the CNI.
const RolloutTaintedNode = "rol-gpu-1"

// The rollout scenarios (incidents 220-249), each in its own rol-*
// namespace.
var _ = register(
	Scenario{Name: "220-controller-crashloop", Incident: "220", apply: controllerCrashLoop,
		Summary: "Calico's kube-controllers in rol-calico, one replica, in CrashLoopBackOff after 21 restarts (last exit: Error, code 1)"},
	Scenario{Name: "223-cni-taint-gap", Incident: "223", apply: cniTaintGap,
		Summary: "a node tainted dedicated=gpu:NoSchedule that the Cilium agent DaemonSet in rol-cni does not tolerate"},
	Scenario{Name: "227-priority-inversion", Incident: "227",
		apply:   applyManifest("rollout-priority.yaml", "rol-priority", "component=antrea-controller", 2),
		Summary: "the Antrea controller in rol-priority at a priority class of 1000, below the 1000000 class a report runner uses"},
	Scenario{Name: "228-critical-recreate", Incident: "228",
		apply:   applyManifest("rollout-recreate.yaml", "rol-recreate", "app=kube-ovn-controller", 2),
		Summary: "the Kube-OVN controller in rol-recreate, two replicas, updated with strategy Recreate"},
	Scenario{Name: "232-pull-always", Incident: "232",
		apply:   applyManifest("rollout-images.yaml", "rol-images", "k8s-app=calico-apiserver", 2),
		Summary: "Calico's API server in rol-images pulling its Docker Hub image on every start (imagePullPolicy: Always)"},
)

// controllerCrashLoop writes, once kwok runs the controller's pod, the
// status its kubelet would after 21 failed starts: waiting in
// CrashLoopBackOff, not ready for 20 minutes, last terminated with Error.
// kwok leaves Running pods' status alone.
func controllerCrashLoop(ctx context.Context, e *env) error {
	if err := applyManifest("rollout-crashloop.yaml", "rol-calico", "k8s-app=calico-kube-controllers", 1)(ctx, e); err != nil {
		return err
	}
	pods, err := e.cluster.Client.CoreV1().Pods("rol-calico").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=calico-kube-controllers"})
	if err != nil {
		return err
	}
	client := e.cluster.Client.CoreV1().Pods("rol-calico")
	for _, p := range pods.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := client.Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			since := metav1.NewTime(time.Now().Add(-20 * time.Minute))
			exited := metav1.NewTime(time.Now().Add(-time.Minute))
			for i := range pod.Status.Conditions {
				if c := &pod.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
					c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, "ContainersNotReady", since
				}
			}
			for i := range pod.Status.ContainerStatuses {
				cs := &pod.Status.ContainerStatuses[i]
				started := false
				cs.Ready, cs.Started, cs.RestartCount = false, &started, 21
				cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
					Message: "back-off 5m0s restarting failed container=" + cs.Name}}
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, Reason: "Error", StartedAt: metav1.NewTime(exited.Add(-10 * time.Second)), FinishedAt: exited}}
			}
			_, err = client.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("mark %s crash-looping: %w", p.Name, err)
		}
	}
	deps := e.cluster.Client.AppsV1().Deployments("rol-calico")
	return poll(ctx, "Deployment rol-calico/calico-kube-controllers to count no ready pod", func(ctx context.Context) (bool, error) {
		d, err := deps.Get(ctx, "calico-kube-controllers", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == 0, nil
	})
}

// cniTaintGap adds a tainted GPU node and the Cilium agent that does not
// tolerate it, and waits for the agent to run on the untainted nodes.
func cniTaintGap(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	err := e.cluster.AddNodes(ctx, lab.NodeSpec{Name: RolloutTaintedNode, Labels: map[string]string{"pool": "gpu"},
		Taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}})
	if err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "rollout-taints.yaml", nil); err != nil {
		return err
	}
	_, err = waitPods(ctx, e, "rol-cni", "k8s-app=cilium", 60*time.Second, readyPods(len(baseNodes)))
	return err
}
