// Package terminal_test drives the built premortem binary in a real
// terminal, tmux (Debian's tmux; .ci/run installs it), and checks what a
// person sees there with capture-pane: table rows fit the terminal's
// width, the progress line redraws in place and is gone at the end, and
// NO_COLOR leaves no escape sequence. It has a lab of its own, a plain
// control plane, for the live read whose progress is shown and for the
// verbs that read a cluster (restart, preflight).
package terminal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	code := lab.TestMain(m, lab.Options{}, setup, func(c *lab.Cluster) { cluster = c })
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// ns holds the objects the tests' verbs read: enough kinds and objects
// for a live read to take a few progress steps, workloads with long
// names for the restart plan, and applied ConfigMaps for preflight.
const ns = "terminal-with-a-rather-long-namespace-name"

func setup(ctx context.Context, c *lab.Cluster) error {
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	applied := map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	for i := range 40 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("applied-configuration-of-a-service-%02d", i), Namespace: ns,
			Labels: map[string]string{"app": "terminal"}, Annotations: applied}}
		if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	one := int32(1)
	for i := range 3 {
		name := fmt.Sprintf("a-deployment-whose-name-is-long-enough-to-be-cut-%d", i)
		sel := map[string]string{"app": name[:40]}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example.org/team/app:1"}}}}},
		}
		if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}
