// Package scenario recreates in a lab the latent condition that preceded each
// of the five incidents premortem exists for (internal/incident). A scenario
// is a manifest (manifests/, templated) plus the little Go that manifests
// cannot say: many objects, object status, a deletion at the right moment.
//
// Scenarios need a lab with the controller-manager, the scheduler and kwok
// (LabOptions); applying one twice is harmless.
package scenario

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/premortem/premortem/lab"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// Scenario is one incident's latent condition.
type Scenario struct {
	// Name is stable: "004-apiservice-down".
	Name string
	// Incident is the ID of the incident in internal/incident: "004".
	Incident string
	// Summary says what the scenario leaves in the cluster.
	Summary string
	apply   func(ctx context.Context, env *env) error
}

// env is what a scenario applies with.
type env struct {
	cluster *lab.Cluster
	apply   *applier
}

// LabOptions are the components every scenario needs.
func LabOptions() lab.Options {
	return lab.Options{ControllerManager: true, Scheduler: true, Kwok: true}
}

// All returns every scenario: the seeds in incident order, then the
// scenarios other files register, by name.
func All() []Scenario {
	extra := slices.Clone(registered)
	slices.SortFunc(extra, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return append(Seeds(), extra...)
}

// registered are the scenarios added by register.
var registered []Scenario

// register adds a scenario; each file of scenarios calls it from a
// package-level var, so that no two authors edit one list.
func register(s ...Scenario) bool {
	registered = append(registered, s...)
	return true
}

// Seeds returns the scenarios of the five seed incidents, in incident
// order.
func Seeds() []Scenario {
	return []Scenario{
		{Name: "000-cluster-wide-agent", Incident: "000", apply: clusterWideAgent,
			Summary: "a per-node collector DaemonSet whose ServiceAccount may list/watch every pod, configured with literal API server addresses (the lab's and a legacy 10.64.0.117)"},
		{Name: "001-release-per-run", Incident: "001", apply: releasePerRun,
			Summary: fmt.Sprintf("%d Helm releases of one chart in mw-script, each with a finished Job without TTL, two NetworkPolicies and a ConfigMap; calico-node crash-looping on some nodes", Releases)},
		{Name: "002-removed-name", Incident: "002", apply: removedName,
			Summary: "a hostname absent from the API server certificate, still used by a ConfigMap kubeconfig, a Secret kubeconfig and a container env var"},
		{Name: "003-single-typha", Incident: "003", apply: singleTypha,
			Summary: "calico-typha with one replica and no PodDisruptionBudget next to the calico-node DaemonSet; its image only on some nodes"},
		{Name: "004-apiservice-down", Incident: "004", apply: apiServiceDown,
			Summary: "metrics.k8s.io APIService unavailable, metrics-server running on a node with the old kernel and runtime, holding back the deletion of namespace team-a; nodes drifting in kernel and runtime, one with its runtime down"},
	}
}

// Apply applies the scenario to c.
func (s Scenario) Apply(ctx context.Context, c *lab.Cluster) error {
	a, err := newApplier(c.Config)
	if err != nil {
		return err
	}
	if err := s.apply(ctx, &env{cluster: c, apply: a}); err != nil {
		return fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return nil
}

// ApplyAll applies every scenario in order.
func ApplyAll(ctx context.Context, c *lab.Cluster) error {
	for _, s := range All() {
		if err := s.Apply(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Base nodes every scenario may rely on: five kwok nodes on the lab's
// current kernel and runtime.
var baseNodes = func() []lab.NodeSpec {
	var nodes []lab.NodeSpec
	for i := 1; i <= 5; i++ {
		images := []string{"docker.io/calico/node:v3.17.3", "registry.k8s.io/coredns/coredns:v1.11.3"}
		if i == 1 {
			// Only one node has pulled typha: a rescheduled typha pod
			// elsewhere waits for a pull (incident 003).
			images = append(images, "docker.io/calico/typha:v3.17.3")
		}
		nodes = append(nodes, lab.NodeSpec{Name: fmt.Sprintf("lab-node-%d", i), Images: images})
	}
	return nodes
}()

func ensureBaseNodes(ctx context.Context, e *env) error {
	return e.cluster.AddNodes(ctx, baseNodes...)
}

func clusterWideAgent(ctx context.Context, e *env) error {
	u, err := url.Parse(e.cluster.Server)
	if err != nil {
		return err
	}
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	return e.apply.applyFile(ctx, "000-cluster-wide-agent.yaml", map[string]string{
		"APIServer": e.cluster.Server, "APIServerHost": u.Hostname(), "APIServerPort": u.Port(),
	})
}

func removedName(ctx context.Context, e *env) error {
	return e.apply.applyFile(ctx, "002-removed-name.yaml", nil)
}

func singleTypha(ctx context.Context, e *env) error {
	if err := ensureBaseNodes(ctx, e); err != nil {
		return err
	}
	return e.apply.applyFile(ctx, "003-single-typha.yaml", nil)
}

// waitPods waits until the pods matching selector in namespace satisfy ok.
func waitPods(ctx context.Context, e *env, namespace, selector string, timeout time.Duration, ok func([]corev1.Pod) bool) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := e.cluster.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		pods = list.Items
		return ok(pods), nil
	})
	if err != nil {
		return pods, fmt.Errorf("waiting for pods %q in %s: %w", selector, namespace, err)
	}
	return pods, nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// helmReleasePayload encodes a minimal release the way Helm stores it in a
// Secret: base64 of gzipped JSON (the Secret's data adds a second base64).
func helmReleasePayload(name, namespace, chart, version string) (string, error) {
	rel := map[string]any{
		"name": name, "namespace": namespace, "version": 1,
		"info":     map[string]any{"status": "deployed", "description": "Install complete"},
		"chart":    map[string]any{"metadata": map[string]any{"name": chart, "version": version, "apiVersion": "v2"}},
		"manifest": "",
	}
	js, err := json.Marshal(rel)
	if err != nil {
		return "", err
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(js); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	inner := base64.StdEncoding.EncodeToString(gz.Bytes())
	return base64.StdEncoding.EncodeToString([]byte(inner)), nil
}
