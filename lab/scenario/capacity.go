package scenario

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// The capacity scenarios (incidents 160-177), each in its own cap-*
// namespace.
var _ = register(
	Scenario{Name: "160-oom-killed-ingress", Incident: "160", apply: oomKilledIngress,
		Summary: "a two-replica ingress in cap-ingress with a 500Mi memory limit whose containers were OOMKilled 6 times each"},
	Scenario{Name: "163-replicas-on-one-node", Incident: "163", apply: applyManifest("capacity-packed.yaml", "cap-packed", "app.kubernetes.io/name=api", 3),
		Summary: "three ready replicas of a CPU-heavy API in cap-packed, all on lab-node-2"},
	Scenario{Name: "165-pdb-blocks-drain", Incident: "165", apply: pdbBlocksDrain,
		Summary: "a one-replica istiod in cap-mesh under a PodDisruptionBudget of minAvailable 1, and a budget whose selector matches nothing"},
	Scenario{Name: "168-hpa-without-metrics", Incident: "168", apply: hpaWithoutMetrics,
		Summary: "an HPA on CPU in cap-autoscale over pods that request no CPU, unable to read metrics while metrics.k8s.io is unavailable (scenario 004): ScalingActive False"},
	Scenario{Name: "171-quota-stalls-rollout", Incident: "171", apply: quotaStallsRollout,
		Summary: "a namespace quota in cap-quota used up by two pods, and a rolling update past its progress deadline because its surge pod is forbidden"},
	Scenario{Name: "173-liveness-hair-trigger", Incident: "173", apply: applyManifest("capacity-probes.yaml", "cap-probes", "app=backend", 2),
		Summary: "a backend in cap-probes whose liveness probe restarts it after one probe slower than a second"},
	Scenario{Name: "176-unprioritized-system", Incident: "176", apply: unprioritizedSystem,
		Summary: "a cilium-operator in cap-system without a priority class or memory request, and a hub pod no node can hold, Pending"},
)

// applyManifest applies a manifest and waits for want ready pods matching
// selector in namespace.
func applyManifest(file, namespace, selector string, want int) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		if err := ensureBaseNodes(ctx, e); err != nil {
			return err
		}
		if err := e.apply.applyFile(ctx, file, nil); err != nil {
			return err
		}
		_, err := waitPods(ctx, e, namespace, selector, 60*time.Second, readyPods(want))
		return err
	}
}

// readyPods accepts at least want ready pods.
func readyPods(want int) func([]corev1.Pod) bool {
	return func(pods []corev1.Pod) bool {
		n := 0
		for _, p := range pods {
			if p.DeletionTimestamp == nil && podReady(p) {
				n++
			}
		}
		return n >= want
	}
}

// oomKilledIngress writes, once kwok runs the ingress pods, the status their
// kubelet would after six OOM kills: running again, last terminated
// OOMKilled with exit code 137.
func oomKilledIngress(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "capacity-oom.yaml", nil); err != nil {
		return err
	}
	pods, err := waitPods(ctx, e, "cap-ingress", "app.kubernetes.io/name=skipper-ingress", 60*time.Second, readyPods(2))
	if err != nil {
		return err
	}
	return markOOMKilled(ctx, e, "cap-ingress", pods, 6, 2*time.Minute)
}

// markOOMKilled writes into pods the status their kubelet would after
// restarts OOM kills, the last one ago: running again, last terminated
// OOMKilled with exit code 137. kwok leaves running pods' status alone.
func markOOMKilled(ctx context.Context, e *env, namespace string, pods []corev1.Pod, restarts int32, ago time.Duration) error {
	client := e.cluster.Client.CoreV1().Pods(namespace)
	for _, p := range pods {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := client.Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			killed := metav1.NewTime(time.Now().Add(-ago))
			for i := range pod.Status.ContainerStatuses {
				cs := &pod.Status.ContainerStatuses[i]
				cs.RestartCount = restarts
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "OOMKilled", StartedAt: metav1.NewTime(killed.Add(-3 * time.Minute)), FinishedAt: killed}}
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

// pdbBlocksDrain waits for the disruption controller to count istiod's one
// healthy pod and allow 0 disruptions.
func pdbBlocksDrain(ctx context.Context, e *env) error {
	if err := applyManifest("capacity-pdb.yaml", "cap-mesh", "app=istiod", 1)(ctx, e); err != nil {
		return err
	}
	pdbs := e.cluster.Client.PolicyV1().PodDisruptionBudgets("cap-mesh")
	return poll(ctx, "PodDisruptionBudget cap-mesh/istiod to count its healthy pod", func(ctx context.Context) (bool, error) {
		pdb, err := pdbs.Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return pdb.Status.ObservedGeneration >= pdb.Generation && pdb.Status.CurrentHealthy == 1 && pdb.Status.ExpectedPods == 1, nil
	})
}

// hpaWithoutMetrics waits for the HPA controller to give up computing a
// replica count.
func hpaWithoutMetrics(ctx context.Context, e *env) error {
	if err := applyManifest("capacity-hpa.yaml", "cap-autoscale", "app=prod-api", 2)(ctx, e); err != nil {
		return err
	}
	hpas := e.cluster.Client.AutoscalingV2().HorizontalPodAutoscalers("cap-autoscale")
	return poll(ctx, "HPA cap-autoscale/prod-api to report ScalingActive False", func(ctx context.Context) (bool, error) {
		h, err := hpas.Get(ctx, "prod-api", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range h.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse {
				return true, nil
			}
		}
		return false, nil
	})
}

// quotaStallsRollout runs two pods under a quota of two, then rolls out a new
// image: the surge pod is forbidden and the rollout passes its 5-second
// progress deadline.
func quotaStallsRollout(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "capacity-quota.yaml", map[string]string{"Version": "1.0"}); err != nil {
		return err
	}
	if _, err := waitPods(ctx, e, "cap-quota", "app=allocation-manager", 90*time.Second, readyPods(2)); err != nil {
		return err
	}
	deps := e.cluster.Client.AppsV1().Deployments("cap-quota")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deps.Get(ctx, "allocation-manager", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "example.org/allocation-manager:2.0"
		_, err = deps.Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("roll out allocation-manager 2.0: %w", err)
	}
	return poll(ctx, "Deployment cap-quota/allocation-manager to pass its progress deadline", func(ctx context.Context) (bool, error) {
		d, err := deps.Get(ctx, "allocation-manager", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return true, nil
			}
		}
		return false, nil
	})
}

// unprioritizedSystem applies the operator and the hub, and waits until the
// scheduler has marked the hub pod unschedulable.
func unprioritizedSystem(ctx context.Context, e *env) error {
	if err := applyManifest("capacity-system.yaml", "cap-system", "name=cilium-operator", 2)(ctx, e); err != nil {
		return err
	}
	_, err := waitPods(ctx, e, "cap-system", "app=hub", 60*time.Second, func(pods []corev1.Pod) bool {
		for _, p := range pods {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
					return true
				}
			}
		}
		return false
	})
	return err
}

// poll waits up to a minute for cond.
func poll(ctx context.Context, what string, cond wait.ConditionWithContextFunc) error {
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, cond); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}
