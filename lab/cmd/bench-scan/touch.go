package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	one := metav1.ListOptions{Limit: 1}
	c := cs.CoreV1()
	pods, err := c.Pods("").List(ctx, one)
	if err != nil || len(pods.Items) == 0 {
		return fmt.Errorf("touch: a pod: %w (%d found)", err, len(pods.Items))
	}
	ns := pods.Items[0].Namespace
	for _, p := range []struct {
		kind  string
		apply func() error
	}{
		{"pod", func() error {
			_, err := c.Pods(ns).Patch(ctx, pods.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}},
		{"configmap", func() error {
			l, err := c.ConfigMaps(ns).List(ctx, one)
			if err == nil && len(l.Items) > 0 {
				_, err = c.ConfigMaps(ns).Patch(ctx, l.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			return err
		}},
		{"secret", func() error {
			l, err := c.Secrets(ns).List(ctx, one)
			if err == nil && len(l.Items) > 0 {
				_, err = c.Secrets(ns).Patch(ctx, l.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			return err
		}},
		{"service", func() error {
			l, err := c.Services(ns).List(ctx, one)
			if err == nil && len(l.Items) > 0 {
				_, err = c.Services(ns).Patch(ctx, l.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			return err
		}},
		{"deployment", func() error {
			a := cs.AppsV1().Deployments(ns)
			l, err := a.List(ctx, one)
			if err == nil && len(l.Items) > 0 {
				_, err = a.Patch(ctx, l.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			return err
		}},
		{"node", func() error {
			_, err := c.Nodes().Patch(ctx, pods.Items[0].Spec.NodeName, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}},
	} {
		if err := p.apply(); err != nil {
			return fmt.Errorf("touch: a %s: %w", p.kind, err)
		}
	}
	return nil
}
