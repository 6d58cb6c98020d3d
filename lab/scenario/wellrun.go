package scenario

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// WellRunNamespace is the namespace of scenario 200-well-run: no check may
// report any object in it, nor WellRunAddOns.
const WellRunNamespace = "well-run"

// WellRunAddOns are the cluster-scoped and kube-system objects scenario
// 200-well-run configures, as premortem names objects ("Kind ns/name").
var WellRunAddOns = []string{
	"Deployment kube-system/coredns",
	"PodDisruptionBudget kube-system/coredns",
	"Service kube-system/kube-dns",
	"ConfigMap kube-system/coredns",
	"ServiceAccount kube-system/coredns",
	"ClusterRole system:coredns",
	"ClusterRoleBinding system:coredns",
	"PriorityClass well-run-web",
	"PersistentVolume well-run-reports",
}

var _ = register(Scenario{
	// The seed incident whose latent condition (critical components
	// without spread or a disruption budget) this scenario is the
	// opposite of; the DNS outages it also avoids are incidents 130-131.
	Name: "200-well-run", Incident: "003", apply: wellRun,
	Summary: "namespace well-run configured by the Kubernetes best practices (spread web Deployment with probes, resources, PDB, HPA, priority class, quota, NetworkPolicies, a bound PVC, Jobs with a TTL) and CoreDNS in kube-system as its production guide deploys it",
})

func wellRun(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	for _, f := range []string{"wellrun-kube-system.yaml", "wellrun-namespace.yaml"} {
		if err := e.apply.applyFile(ctx, f, nil); err != nil {
			return err
		}
	}
	// Running and Ready, each replica on its own node.
	spread := func(want int) func([]corev1.Pod) bool {
		return func(pods []corev1.Pod) bool {
			nodes := map[string]bool{}
			for _, p := range pods {
				if p.DeletionTimestamp == nil && podReady(p) {
					nodes[p.Spec.NodeName] = true
				}
			}
			return len(nodes) >= want
		}
	}
	if _, err := waitPods(ctx, e, "kube-system", "k8s-app=kube-dns", 60*time.Second, spread(2)); err != nil {
		return err
	}
	if _, err := waitPods(ctx, e, WellRunNamespace, "app.kubernetes.io/name=web", 60*time.Second, spread(3)); err != nil {
		return err
	}
	c := e.cluster.Client
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pvc, err := c.CoreV1().PersistentVolumeClaims(WellRunNamespace).Get(ctx, "reports", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return false, nil
		}
		slices, err := c.DiscoveryV1().EndpointSlices(WellRunNamespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		job, err := c.BatchV1().Jobs(WellRunNamespace).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return ready >= 3 && job.Status.Succeeded > 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for PVC reports bound, 3 ready endpoints of Service web and Job migrate done: %w", err)
	}
	return nil
}
