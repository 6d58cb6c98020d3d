package scenario

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/lab"
)

// HeldBackNamespace is the namespace scenario 004 deletes while the
// metrics.k8s.io APIService is unavailable.
const HeldBackNamespace = "team-a"

// HelmUserAgent is the user agent of the scenario's namespace deletion, as
// helm upgrade would send it.
const HelmUserAgent = "Helm/3.16.2"

// Nodes that drift from the base nodes: an older kernel, runtime, kubelet and
// OS image; lab-node-7's runtime is down (incident 004's containerd hang).
var driftNodes = []lab.NodeSpec{
	{Name: "lab-node-6", KernelVersion: "5.4.0-1045-aws", ContainerRuntimeVersion: "containerd://1.4.3",
		KubeletVersion: "v1.35.2", OSImage: "Ubuntu 18.04.5 LTS", Images: []string{"docker.io/calico/node:v3.17.3"}},
	{Name: "lab-node-7", KernelVersion: "5.4.0-1045-aws", ContainerRuntimeVersion: "containerd://1.4.3",
		KubeletVersion: "v1.35.2", OSImage: "Ubuntu 18.04.5 LTS", Unmanaged: true, NotReady: true,
		NotReadyReason:  "KubeletNotReady",
		NotReadyMessage: "container runtime is down: PLEG is not healthy: pleg was last seen active 3m12s ago; threshold is 3m0s"},
}

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

func apiServiceDown(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	if err := e.cluster.AddNodes(ctx, driftNodes...); err != nil {
		return err
	}
	if err := e.apply.applyFile(ctx, "004-apiservice-down.yaml", nil); err != nil {
		return err
	}
	// metrics-server runs on lab-node-6, a drifted node, as in the talk. The
	// aggregator marks its APIService unavailable: first for want of
	// endpoints, then, once the pod is ready, because the lab's API server
	// cannot reach a kwok pod's address (the talk's "the API server was
	// failing to contact it").
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		obj, err := e.apply.dynamic.Resource(apiServices).Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "False" {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return fmt.Errorf("waiting for v1beta1.metrics.k8s.io to be unavailable: %w", err)
	}

	// helm upgrade deletes the namespace that left the chart.
	helmCfg := rest.CopyConfig(e.cluster.Config)
	helmCfg.UserAgent = HelmUserAgent
	helm, err := kubernetes.NewForConfig(helmCfg)
	if err != nil {
		return err
	}
	if err := helm.CoreV1().Namespaces().Delete(ctx, HeldBackNamespace, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete namespace %s: %w", HeldBackNamespace, err)
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		ns, err := e.cluster.Client.CoreV1().Namespaces().Get(ctx, HeldBackNamespace, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceDeletionDiscoveryFailure && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
