package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// touch changes one object of each kind the lab has many of, as a live
// cluster's writes do. The API server answers a LIST's continue pages from
// a snapshot of its watch cache taken at a write; etcd's compaction (every
// five minutes) drops the snapshots older than it, so on a lab with no write
// since then every continue page is read from etcd instead. -touch measures
// the live cluster's case; without it, the quiet one's.
func touch(ctx context.Context, cs kubernetes.Interface) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"premortem-bench/touched":%q}}}`, time.Now().UTC().Format(time.RFC3339Nano))
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || len(pods.Items) == 0 {
		return fmt.Errorf("touch: a pod: %w (%d found)", err, len(pods.Items))
	}
	pod := pods.Items[0]
	c, ns := cs.CoreV1(), pod.Namespace
	for _, p := range []struct {
		kind string
		err  error
	}{
		{"pod", patchOne[*corev1.PodList](ctx, pod.Name, nil, c.Pods(ns).Patch, patch)},
		{"node", patchOne[*corev1.NodeList](ctx, pod.Spec.NodeName, nil, c.Nodes().Patch, patch)},
		{"configmap", patchOne(ctx, "", c.ConfigMaps(ns).List, c.ConfigMaps(ns).Patch, patch)},
		{"secret", patchOne(ctx, "", c.Secrets(ns).List, c.Secrets(ns).Patch, patch)},
		{"service", patchOne(ctx, "", c.Services(ns).List, c.Services(ns).Patch, patch)},
		{"deployment", patchOne(ctx, "", cs.AppsV1().Deployments(ns).List, cs.AppsV1().Deployments(ns).Patch, patch)},
	} {
		if p.err != nil {
			return fmt.Errorf("touch: a %s: %w", p.kind, p.err)
		}
	}
	return nil
}

// patchOne merge-patches the object named name, or when name is "" the
// first that list returns.
func patchOne[L runtime.Object, T any](ctx context.Context, name string,
	list func(context.Context, metav1.ListOptions) (L, error),
	patch func(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error), data []byte) error {
	if name == "" {
		l, err := list(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errors.New("none to patch")
		}
		m, err := meta.Accessor(items[0])
		if err != nil {
			return err
		}
		name = m.GetName()
	}
	_, err := patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{})
	return err
}
