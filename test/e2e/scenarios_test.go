package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/premortem/premortem/lab/scenario"
)

// TestScenariosArePresent checks, by reading the API server, that each
// incident's latent condition really exists after TestMain applied it.
func TestScenariosArePresent(t *testing.T) {
	ctx := context.Background()
	client := cluster.Client
	tests := []struct {
		scenario string
		verify   func(t *testing.T)
	}{
		{"000-cluster-wide-agent", func(t *testing.T) {
			// The API server itself says the per-node agent may list every pod.
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               "system:serviceaccount:observability:otel-collector",
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:observability"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "watch", Resource: "pods"},
			}}
			res, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil || !res.Status.Allowed {
				t.Fatalf("otel-collector may not watch pods cluster-wide: %v %+v", err, res.Status)
			}
			cm, err := client.CoreV1().ConfigMaps("observability").Get(ctx, "otel-collector-config", metav1.GetOptions{})
			if err != nil || !strings.Contains(cm.Data["config.yaml"], cluster.Server) {
				t.Fatalf("config does not carry the literal API server address %s: %v", cluster.Server, err)
			}
			waitFor(t, "otel-collector on every ready node", func() bool {
				ds, err := client.AppsV1().DaemonSets("observability").Get(ctx, "otel-collector", metav1.GetOptions{})
				return err == nil && ds.Status.NumberReady >= 6
			})
		}},
		{"001-release-per-run", func(t *testing.T) {
			jobs, err := client.BatchV1().Jobs(scenario.ReleaseNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			finishedNoTTL := 0
			for _, j := range jobs.Items {
				if j.Spec.TTLSecondsAfterFinished == nil && j.Status.CompletionTime != nil {
					finishedNoTTL++
				}
			}
			if finishedNoTTL != scenario.Releases {
				t.Errorf("finished Jobs without TTL: %d, want %d", finishedNoTTL, scenario.Releases)
			}
			nps, err := client.NetworkingV1().NetworkPolicies(scenario.ReleaseNamespace).List(ctx, metav1.ListOptions{})
			if err != nil || len(nps.Items) != 2*scenario.Releases {
				t.Errorf("NetworkPolicies: %d (%v), want %d", len(nps.Items), err, 2*scenario.Releases)
			}
			rels, err := client.CoreV1().Secrets(scenario.ReleaseNamespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
			if err != nil || len(rels.Items) != scenario.Releases {
				t.Errorf("Helm release Secrets: %d (%v), want %d", len(rels.Items), err, scenario.Releases)
			}
			waitFor(t, "calico-node to report unready pods", func() bool {
				ds, err := client.AppsV1().DaemonSets("kube-system").Get(ctx, "calico-node", metav1.GetOptions{})
				return err == nil && ds.Status.DesiredNumberScheduled > 0 && ds.Status.NumberReady <= ds.Status.DesiredNumberScheduled-2
			})
		}},
		{"002-removed-name", func(t *testing.T) {
			const host = "k8s-master.tools.example.org"
			cm, err := client.CoreV1().ConfigMaps("tool-checker").Get(ctx, "checker-kubeconfig", metav1.GetOptions{})
			if err != nil || !strings.Contains(cm.Data["config"], host) {
				t.Errorf("ConfigMap kubeconfig does not name %s: %v", host, err)
			}
			sec, err := client.CoreV1().Secrets("tool-checker").Get(ctx, "checker-credentials", metav1.GetOptions{})
			if err != nil || !strings.Contains(string(sec.Data["kubeconfig"]), host) {
				t.Errorf("Secret kubeconfig does not name %s: %v", host, err)
			}
			dep, err := client.AppsV1().Deployments("tool-checker").Get(ctx, "toolschecker", metav1.GetOptions{})
			if err != nil || dep.Spec.Template.Spec.Containers[0].Env[0].Value != host {
				t.Errorf("Deployment env does not name %s: %v", host, err)
			}
			// The name clients use is not in the serving certificate.
			u, _ := url.Parse(cluster.Server)
			conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the certificate only
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if err := leaf.VerifyHostname(host); err == nil {
				t.Errorf("serving certificate covers %s; the scenario needs it absent", host)
			}
		}},
		{"003-single-typha", func(t *testing.T) {
			typha, err := client.AppsV1().Deployments("kube-system").Get(ctx, "calico-typha", metav1.GetOptions{})
			if err != nil || *typha.Spec.Replicas != 1 {
				t.Fatalf("calico-typha: %v", err)
			}
			pdbs, err := client.PolicyV1().PodDisruptionBudgets("kube-system").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pdbs.Items {
				if p.Spec.Selector != nil && p.Spec.Selector.MatchLabels["k8s-app"] == "calico-typha" {
					t.Errorf("a PDB protects calico-typha: %s", p.Name)
				}
			}
			nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			with := 0
			for _, n := range nodes.Items {
				for _, img := range n.Status.Images {
					if strings.Contains(img.Names[0], "calico/typha") {
						with++
					}
				}
			}
			if with != 1 {
				t.Errorf("nodes with the typha image: %d, want 1", with)
			}
		}},
		{"004-apiservice-down", func(t *testing.T) {
			dyn, err := dynamic.NewForConfig(cluster.Config)
			if err != nil {
				t.Fatal(err)
			}
			gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
			svc, err := dyn.Resource(gvr).Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			conds, _, _ := unstructured.NestedSlice(svc.Object, "status", "conditions")
			if len(conds) == 0 || conds[0].(map[string]any)["status"] != "False" {
				t.Errorf("APIService conditions: %v", conds)
			}
			ns, err := client.CoreV1().Namespaces().Get(ctx, scenario.HeldBackNamespace, metav1.GetOptions{})
			if err != nil || ns.Status.Phase != corev1.NamespaceTerminating {
				t.Fatalf("namespace %s: %v phase %q", scenario.HeldBackNamespace, err, ns.Status.Phase)
			}
			held := false
			for _, c := range ns.Status.Conditions {
				held = held || c.Type == corev1.NamespaceDeletionDiscoveryFailure && c.Status == corev1.ConditionTrue
			}
			if !held {
				t.Errorf("namespace %s lacks NamespaceDeletionDiscoveryFailure: %+v", scenario.HeldBackNamespace, ns.Status.Conditions)
			}
			disc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = disc.ServerGroupsAndResources()
			var failed *discovery.ErrGroupDiscoveryFailed
			if !errors.As(err, &failed) {
				t.Errorf("discovery does not fail for metrics.k8s.io: %v", err)
			}
			nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			kernels := map[string]int{}
			notReady := 0
			for _, n := range nodes.Items {
				kernels[n.Status.NodeInfo.KernelVersion]++
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
						notReady++
					}
				}
			}
			if len(kernels) < 2 || notReady != 1 {
				t.Errorf("node drift: kernels %v, not ready %d", kernels, notReady)
			}
		}},
	}
	if len(tests) != len(scenario.Seeds()) {
		t.Fatalf("%d seed scenarios, %d verified", len(scenario.Seeds()), len(tests))
	}
	for i, tt := range tests {
		if scenario.Seeds()[i].Name != tt.scenario {
			t.Fatalf("scenario %d is %s, test verifies %s", i, scenario.Seeds()[i].Name, tt.scenario)
		}
		t.Run(tt.scenario, tt.verify)
	}
}

// waitFor polls cond for up to a minute: controllers converge asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
