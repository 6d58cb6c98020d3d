package chart_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/rbac"
	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// chartValues are what a user would set installing the chart.
const chartValues = `
image: {tag: v1.2.3}
agent: {interval: 30s, verbosity: 1}
resources: {requests: {cpu: 50m, memory: 512Mi}, limits: {memory: 1Gi}}
serviceMonitor: {enabled: true}
nodeSelector: {kubernetes.io/os: linux}
`

const (
	agentNamespace = "monitoring"
	releaseName    = "premortem"
)

func helmConfig(t *testing.T, ns, driver string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig := cluster.Kubeconfig
	flags.KubeConfig, flags.Namespace = &kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, driver, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestChartAgent installs the chart with Helm's SDK, then runs the agent
// binary with the args the chart's Deployment gives it and a token of the
// chart's ServiceAccount (TokenRequest): the agent becomes ready, the API
// server refuses it nothing, and the installed ClusterRole grants no write.
func TestChartAgent(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	bin := premortem(t)
	c, err := loader.Load(filepath.Join(root, "deploy", "helm", "premortem"))
	if err != nil {
		t.Fatal(err)
	}
	var vals map[string]any
	if err := yaml.Unmarshal([]byte(chartValues), &vals); err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(helmConfig(t, agentNamespace, "secret"))
	in.ReleaseName, in.Namespace, in.CreateNamespace, in.Timeout = releaseName, agentNamespace, true, time.Minute
	rel, err := in.RunWithContext(ctx, c, vals)
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	t.Logf("installed %s, chart %s", rel.Name, rel.Chart.Metadata.Version)

	// What the chart created, read back from the cluster.
	role, err := cluster.Client.RbacV1().ClusterRoles().Get(ctx, releaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if !slices.Contains(rbac.AllowedVerbs, v) {
				t.Errorf("ClusterRole grants %q on %v %v", v, r.Resources, r.NonResourceURLs)
			}
		}
	}
	dep, err := cluster.Client.AppsV1().Deployments(agentNamespace).Get(ctx, releaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	sa := pod.ServiceAccountName
	if _, err := cluster.Client.CoreV1().ServiceAccounts(agentNamespace).Get(ctx, sa, metav1.GetOptions{}); err != nil {
		t.Fatalf("the Deployment's ServiceAccount: %v", err)
	}
	if _, err := cluster.Client.CoreV1().Services(agentNamespace).Get(ctx, releaseName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the metrics Service: %v", err)
	}
	if _, err := cluster.Client.PolicyV1().PodDisruptionBudgets(agentNamespace).Get(ctx, releaseName, metav1.GetOptions{}); err == nil {
		t.Error("a PodDisruptionBudget by default")
	}

	// The API server's PodSecurity admission takes the chart's pod in a
	// namespace that enforces the restricted level (a dry run: no
	// controller here creates the Deployment's pods).
	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "psa-restricted",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, restricted, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: restricted.Name}, Spec: *pod.DeepCopy()}
	probe.Spec.ServiceAccountName = "default"
	if _, err := cluster.Client.CoreV1().Pods(restricted.Name).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("restricted Pod Security refuses the chart's pod: %v", err)
	}
	// And it does refuse one without the container's securityContext.
	probe.Spec.Containers[0].SecurityContext = nil
	if _, err := cluster.Client.CoreV1().Pods(restricted.Name).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil {
		t.Error("the restricted namespace took a pod without a container securityContext: the check above proves nothing")
	}

	// The pod's args, with a loopback address to listen on.
	addr, err := lab.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range pod.Containers[0].Args {
		if strings.HasPrefix(a, "--listen=") {
			a = "--listen=" + addr
		}
		args = append(args, a)
	}
	if !slices.Contains(args, "--interval=30s") {
		t.Errorf("args %q lack the user's --interval=30s", args)
	}
	kubeconfig, err := cluster.ServiceAccountKubeconfig(ctx, agentNamespace, sa, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	start := auditlog.Size(t, cluster.AuditLog)
	stop := startAgent(t, bin, append(args, "--kubeconfig="+kubeconfig))
	waitReady(t, "http://"+addr, 3*time.Minute, stop)

	user := "system:serviceaccount:" + agentNamespace + ":" + sa
	var n int
	for _, ev := range auditlog.Requests(t, cluster.AuditLog, start, "") {
		if ev.User.Username != user {
			continue
		}
		n++
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == http.StatusForbidden {
			t.Errorf("403 for %s: %s %s", user, ev.Verb, ev.RequestURI)
		}
	}
	if n == 0 {
		t.Errorf("no request of %s in the audit log", user)
	}
	t.Logf("%d requests as %s, none refused", n, user)
}

// startAgent starts `premortem ARGS` and returns a channel closed when it
// exits; the test's cleanup kills it.
func startAgent(t *testing.T, bin string, args []string) <-chan struct{} {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("agent log:\n%s", tail(log.String(), 60))
		}
	})
	return done
}

func waitReady(t *testing.T, base string, limit time.Duration, exited <-chan struct{}) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-exited:
			t.Fatal("agent exited before it was ready")
		default:
		}
		var code int
		var body []byte
		if resp, err := client.Get(base + "/readyz"); err == nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			code = resp.StatusCode
		}
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not ready after %s: %d %s", limit, code, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
