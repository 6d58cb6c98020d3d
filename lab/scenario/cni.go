package scenario

import (
	"context"
	"time"
)

// CNINamespace is where scenario 001-cni-at-limits runs Calico's Typha at
// its limits and a well-sized Cilium operator.
const CNINamespace = "calico-system"

var _ = register(Scenario{Name: "001-cni-at-limits", Incident: "001", apply: cniAtLimits,
	Summary: "calico-typha in calico-system with limits of 200m CPU and 128Mi, its three pods OOM-killed 4 times each; a cilium-operator next to it with room and no restart"})

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
	pods, err := waitPods(ctx, e, CNINamespace, "k8s-app=calico-typha", 60*time.Second, readyPods(3))
	if err != nil {
		return err
	}
	return markOOMKilled(ctx, e, CNINamespace, pods, 4, time.Minute)
}
