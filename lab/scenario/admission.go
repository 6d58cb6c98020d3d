package scenario

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Admission webhooks (incidents 100-129). Every webhook here is scoped so
// that nothing else in the lab is refused or slowed: its own namespace,
// CSRs, kinds the lab never creates, or fail-open with a backend that fails
// at once.
var _ = register(
	Scenario{
		Name: "101-webhook-deadlock", Incident: "101", apply: webhookDeadlock,
		Summary: "a fail-closed pod webhook over its own namespace adm-policy, its pods pinned to a retired node (no ready endpoint), and the same backend validating kubelet CSRs",
	},
	Scenario{
		Name: "102-webhook-slow-on-leases", Incident: "102",
		apply: func(ctx context.Context, e *env) error {
			return e.apply.applyFile(ctx, "admission-lease-audit.yaml", nil)
		},
		Summary: "a fail-open auditing webhook over lease updates in kube-system with the default 10-second timeout",
	},
	Scenario{
		Name: "108-webhook-expired-ca", Incident: "108", apply: webhookExpiredCA,
		Summary: "a fail-closed training-operator webhook in adm-training whose caBundle holds a 90-day CA that expired in 2025, its pods ready",
	},
)

func webhookDeadlock(ctx context.Context, e *env) error {
	return e.apply.applyFile(ctx, "admission-webhook-deadlock.yaml", nil)
}

// webhookExpiredCA waits for the operator's pods: the condition is a
// working backend behind a bundle that no longer verifies it.
func webhookExpiredCA(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "admission-expired-ca.yaml", nil); err != nil {
		return err
	}
	_, err := waitPods(ctx, e, "adm-training", "app=training-operator", 90*time.Second, func(pods []corev1.Pod) bool {
		ready := 0
		for _, p := range pods {
			if podReady(p) {
				ready++
			}
		}
		return ready == 2
	})
	return err
}
