package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// KwokNodeAnnotation marks the nodes kwok manages.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// insecureLoopback reaches components' self-signed health endpoints.
var insecureLoopback = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback health checks only

// NodeSpec describes a simulated node.
type NodeSpec struct {
	Name string
	// Versions reported in status.nodeInfo; empty fields get lab defaults.
	KubeletVersion          string
	KernelVersion           string
	ContainerRuntimeVersion string
	OSImage                 string
	// Images are reported in status.images (what the node has pulled).
	Images []string
	Labels map[string]string
	Taints []corev1.Taint
	// Unmanaged nodes are not driven by kwok: their status stays as written,
	// including NotReady below, and pods bound to them never start. The lab
	// renews their node Lease, as a kubelet that is alive but whose runtime
	// hangs would, so the node-lifecycle controller keeps the condition
	// written here instead of replacing it with Unknown.
	Unmanaged bool
	// NotReady (Unmanaged only) writes a Ready=False condition with Reason
	// and Message, e.g. the container runtime is down.
	NotReady        bool
	NotReadyReason  string
	NotReadyMessage string
}

// Default node versions, as a lab's nodes report them unless told otherwise.
const (
	DefaultKubeletVersion = "v1.36.3"
	DefaultKernelVersion  = "6.1.0-28-amd64"
	DefaultRuntime        = "containerd://2.1.4"
	DefaultOSImage        = "Debian GNU/Linux 12 (bookworm)"
)

// AddNodes creates the nodes and writes their status. Nodes managed by kwok
// are waited for until Ready (kwok must be running).
func (c *Cluster) AddNodes(ctx context.Context, specs ...NodeSpec) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(specs))
	sem := make(chan struct{}, 16)
	for _, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := c.addNode(ctx, spec); err != nil {
				errs <- fmt.Errorf("node %s: %w", spec.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

func (c *Cluster) addNode(ctx context.Context, spec NodeSpec) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: map[string]string{
		"kubernetes.io/hostname": spec.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}}, Spec: corev1.NodeSpec{Taints: spec.Taints}}
	for k, v := range spec.Labels {
		node.Labels[k] = v
	}
	if !spec.Unmanaged {
		node.Annotations = map[string]string{KwokNodeAnnotation: "fake"}
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Create drops status; write it with the status subresource. kwok may
	// be writing its initial status at the same moment: retry on conflict.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, spec.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.NodeInfo.KubeletVersion = or(spec.KubeletVersion, DefaultKubeletVersion)
		n.Status.NodeInfo.KernelVersion = or(spec.KernelVersion, DefaultKernelVersion)
		n.Status.NodeInfo.ContainerRuntimeVersion = or(spec.ContainerRuntimeVersion, DefaultRuntime)
		n.Status.NodeInfo.OSImage = or(spec.OSImage, DefaultOSImage)
		n.Status.NodeInfo.OperatingSystem = "linux"
		n.Status.NodeInfo.Architecture = "amd64"
		n.Status.Images = nil
		for _, img := range spec.Images {
			n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: []string{img}, SizeBytes: 50 << 20})
		}
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("128Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		n.Status.Capacity, n.Status.Allocatable = capacity, capacity
		if spec.Unmanaged {
			now := metav1.Now()
			ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
			if spec.NotReady {
				ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, or(spec.NotReadyReason, "KubeletNotReady"), spec.NotReadyMessage
			}
			n.Status.Conditions = []corev1.NodeCondition{ready}
		}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if spec.Unmanaged {
		return c.heartbeats.start(c, spec.Name)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, spec.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return n.Status.NodeInfo.KernelVersion == or(spec.KernelVersion, DefaultKernelVersion), nil
			}
		}
		return false, nil
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// heartbeats renews the node Leases of unmanaged nodes until Close.
type heartbeats struct {
	mu     sync.Mutex
	nodes  map[string]bool
	cancel context.CancelFunc
	done   chan struct{}
}

const leaseDuration = 40 // seconds, the kubelet's default

func (h *heartbeats) start(c *Cluster, node string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nodes == nil {
		h.nodes = map[string]bool{}
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.done = cancel, make(chan struct{})
		go h.loop(ctx, c)
	}
	h.nodes[node] = true
	return h.renew(context.Background(), c, node)
}

func (h *heartbeats) loop(ctx context.Context, c *Cluster) {
	defer close(h.done)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		nodes := make([]string, 0, len(h.nodes))
		for n := range h.nodes {
			nodes = append(nodes, n)
		}
		h.mu.Unlock()
		for _, n := range nodes {
			_ = h.renew(ctx, c, n) // a missed renewal is retried in 10 s
		}
	}
}

// renew creates or renews the node's Lease in kube-node-lease.
func (h *heartbeats) renew(ctx context.Context, c *Cluster, node string) error {
	leases := c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node, UID: n.UID}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr(node), LeaseDurationSeconds: ptr(int32(leaseDuration)), RenewTime: &now},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (h *heartbeats) stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func ptr[T any](v T) *T { return &v }
