package restart_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/restart"
	"github.com/premortem/premortem/lab/scenario"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// This file runs after restart_test.go (tests run in file order): it adds
// Calico's BGP kinds to the lab and works in a namespace of its own.
const bgpNS = "bgp"

// bgpWorkloads: typha with two replicas (no single-replica gate), an image
// no node has and a readiness delay longer than the window; calico-node
// beside it. kwok marks pods ready without pulling or probing, which is all
// the pre-pull needs here: the DaemonSet's pods become ready.
func bgpWorkloads(t *testing.T, ctx context.Context) {
	t.Helper()
	s, ok := scenario.Lookup(scenario.BGPWindowScenario)
	if !ok {
		t.Fatalf("no scenario %s", scenario.BGPWindowScenario)
	}
	if err := s.Apply(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	cs := cluster.Client
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bgpNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tmpl := func(name, img string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{
				PriorityClassName: "system-cluster-critical",
				Tolerations:       []corev1.Toleration{{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{Name: name, Image: img, ReadinessProbe: &corev1.Probe{
					ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readiness", Port: intstr.FromInt32(9098)}},
					InitialDelaySeconds: 130, PeriodSeconds: 10}}},
			},
		}
	}
	two := int32(2)
	sel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	}
	if _, err := cs.AppsV1().Deployments(bgpNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: bgpNS, Name: "calico-typha", Labels: map[string]string{"app": "calico-typha"}},
		Spec:       appsv1.DeploymentSpec{Replicas: &two, Selector: sel("calico-typha"), Template: tmpl("calico-typha", "registry.example/bgp-typha:1")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets(bgpNS).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: bgpNS, Name: "calico-node", Labels: map[string]string{"app": "calico-node"}},
		Spec:       appsv1.DaemonSetSpec{Selector: sel("calico-node"), Template: tmpl("calico-node", image("calico-node"))},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBGPSettled(t, ctx)
}

func waitBGPSettled(t *testing.T, ctx context.Context) {
	t.Helper()
	ws := []workload{{kind: restart.Deployment, ns: bgpNS, name: "calico-typha", replicas: 2}, {kind: restart.DaemonSet, ns: bgpNS, name: "calico-node"}}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, w := range ws {
			if p, err := progress(ctx, w); err != nil || !p.Complete {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("bgp workloads did not settle: %v", err)
	}
}

// prepullSets lists the pre-pull DaemonSets in the namespace.
func prepullSets(t *testing.T, ctx context.Context) []string {
	t.Helper()
	l, err := cluster.Client.AppsV1().DaemonSets(bgpNS).List(ctx, metav1.ListOptions{LabelSelector: restart.PrepullLabel})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ds := range l.Items {
		out = append(out, ds.Name)
	}
	return out
}

// prepullRequests are premortem's successful creates and deletes of
// pre-pull DaemonSets after offset, and its PATCHes, in order:
// "create NAME", "delete NAME", "patch NAME".
func prepullRequests(t *testing.T, offset int64) []string {
	t.Helper()
	var out []string
	for _, ev := range auditlog.Since(t, cluster.AuditLog, offset, "premortem-restart") {
		if ev.ObjectRef == nil || ev.ObjectRef.Namespace != bgpNS || ev.ResponseStatus == nil || ev.ResponseStatus.Code >= 300 {
			continue
		}
		switch {
		case ev.Verb == "create" && ev.ObjectRef.Resource == "daemonsets":
			// A create's name is in its body, not its path; the API server
			// puts it in objectRef all the same.
			out = append(out, "create "+ev.ObjectRef.Name)
		case ev.Verb == "delete" && ev.ObjectRef.Resource == "daemonsets":
			out = append(out, "delete "+ev.ObjectRef.Name)
		case ev.Verb == "patch":
			out = append(out, "patch "+ev.ObjectRef.Name)
		}
	}
	return out
}

// TestBGPWindowAndPrepull: the plan shows the window and warns about
// typha's readiness delay and missing image; --prepull pulls before the
// restart and removes its DaemonSet after a normal run, after SIGTERM, and,
// after SIGKILL, when the run is resumed. The audit log shows each create
// and delete.
func TestBGPWindowAndPrepull(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	addNodes(t, ctx) // when run alone, without TestRestart
	bgpWorkloads(t, ctx)
	base := []string{"restart", "-n", bgpNS, "--kubeconfig", cluster.Kubeconfig, "--timeout", "2m"}

	// 1. The plan, without and with --prepull.
	var out syncBuffer
	if code := premortem(ctx, &out, append(base, "--state-dir", t.TempDir())...); code != cli.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, out.String())
	}
	table := out.String()
	t.Logf("plan:\n%s", table)
	for _, want := range []string{"BGP graceful-restart window (Calico):", "120s, set by BGPPeer cr1-eqiad (maxRestartTime unset: BIRD's default)",
		"[image-missing]", "ready 130s after it starts at the earliest"} {
		if !strings.Contains(table, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	out = syncBuffer{}
	if code := premortem(ctx, &out, append(base, "--state-dir", t.TempDir(), "--prepull", "-o", "json")...); code != cli.ExitOK {
		t.Fatalf("plan --prepull: exit %d\n%s", code, out.String())
	}
	var plan restart.Plan
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, out.String())
	}
	if plan.BGPWindow == nil || plan.BGPWindow.Seconds != 120 || len(plan.BGPWindow.Peerings) != 2 {
		t.Errorf("window %+v, want 120s from two peers", plan.BGPWindow)
	}
	for _, s := range plan.Steps {
		if s.BGPWindowSeconds != 120 || s.Action != restart.ActionRestart {
			t.Errorf("%s: %s, window %ds; want restart within 120s", s.ID, s.Action, s.BGPWindowSeconds)
		}
		if wantPrepull := s.Kind == restart.Deployment; (s.Prepull != nil) != wantPrepull {
			t.Errorf("%s: prepull %+v", s.ID, s.Prepull)
		}
	}
	if got := prepullRequests(t, 0); len(got) != 0 {
		t.Fatalf("the plans sent %q", got)
	}

	// 2. A normal run: pre-pull, PATCH, removal, in that order.
	offset := auditlog.Size(t, cluster.AuditLog)
	out = syncBuffer{}
	code := premortem(ctx, &out, append(base, "--state-dir", t.TempDir(), "--prepull", "--apply")...)
	t.Logf("--apply --prepull, exit %d:\n%s", code, out.String())
	if code != cli.ExitOK {
		t.Fatalf("--apply --prepull: exit %d", code)
	}
	reqs := prepullRequests(t, offset)
	ds := strings.TrimPrefix(reqs[0], "create ")
	if want := []string{"create " + ds, "patch calico-typha", "delete " + ds, "patch calico-node"}; !slices.Equal(reqs, want) || !strings.HasPrefix(ds, "premortem-prepull-") {
		t.Errorf("requests %q, want %q", reqs, want)
	}
	if left := prepullSets(t, ctx); len(left) != 0 {
		t.Errorf("pre-pull DaemonSets left after a normal run: %q", left)
	}
	waitPrepullPodsGone(t, ctx)

	bin := filepath.Join(t.TempDir(), "premortem")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/premortem/premortem/cmd/premortem").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}

	// 3. SIGTERM while the pre-pull DaemonSet exists: the process removes
	// it before it exits.
	waitBGPSettled(t, ctx)
	offset = auditlog.Size(t, cluster.AuditLog)
	args := append(base, "--state-dir", t.TempDir(), "--prepull", "--apply")
	code, transcript := runUntilPrepull(t, ctx, bin, args, syscall.SIGTERM)
	t.Logf("SIGTERM, exit %d:\n%s", code, transcript)
	if code != cli.ExitError {
		t.Errorf("after SIGTERM: exit %d, want %d (stopped, resume to finish)", code, cli.ExitError)
	}
	if left := prepullSets(t, ctx); len(left) != 0 {
		t.Errorf("pre-pull DaemonSets left after SIGTERM: %q", left)
	}
	reqs = prepullRequests(t, offset)
	if len(reqs) < 2 || !strings.HasPrefix(reqs[0], "create ") || reqs[len(reqs)-1] != "delete "+strings.TrimPrefix(reqs[0], "create ") {
		t.Errorf("requests around SIGTERM %q: want the create, and its delete last", reqs)
	}

	// 4. SIGKILL: nothing can clean up; the DaemonSet stays until the same
	// command, run again, resumes the run and removes it first.
	waitBGPSettled(t, ctx)
	offset = auditlog.Size(t, cluster.AuditLog)
	args = append(base, "--state-dir", t.TempDir(), "--prepull", "--apply")
	code, transcript = runUntilPrepull(t, ctx, bin, args, syscall.SIGKILL)
	t.Logf("SIGKILL, exit %d:\n%s", code, transcript)
	left := prepullSets(t, ctx)
	if len(left) != 1 {
		t.Fatalf("after SIGKILL: pre-pull DaemonSets %q, want the one it was using", left)
	}
	out = syncBuffer{}
	code = premortem(ctx, &out, args...)
	t.Logf("resumed, exit %d:\n%s", code, out.String())
	if code != cli.ExitOK || !strings.Contains(out.String(), "Resuming run") {
		t.Fatalf("resumed run: exit %d", code)
	}
	if !strings.Contains(out.String(), "removed pre-pull DaemonSet "+bgpNS+"/"+left[0]) {
		t.Errorf("the resumed run did not say it removed %s", left[0])
	}
	if left := prepullSets(t, ctx); len(left) != 0 {
		t.Errorf("pre-pull DaemonSets left after the resumed run: %q", left)
	}
	reqs = prepullRequests(t, offset)
	creates, deletes := 0, 0
	for _, r := range reqs {
		if strings.HasPrefix(r, "create ") {
			creates++
		}
		if strings.HasPrefix(r, "delete ") {
			deletes++
		}
	}
	if creates == 0 || creates != deletes {
		t.Errorf("requests of the killed and the resumed run %q: every create deleted", reqs)
	}
	waitPrepullPodsGone(t, ctx)
}

// runUntilPrepull runs the built binary and sends sig as soon as a
// pre-pull DaemonSet exists; it returns the exit code and the output.
func runUntilPrepull(t *testing.T, ctx context.Context, bin string, args []string, sig syscall.Signal) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			transcript.WriteString(sc.Text() + "\n")
		}
	}()
	sent := false
	_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if len(prepullSets(t, ctx)) == 0 {
			return false, nil
		}
		sent = cmd.Process.Signal(sig) == nil
		return true, nil
	})
	<-done
	_ = cmd.Wait()
	if !sent {
		t.Fatalf("no pre-pull DaemonSet appeared to interrupt:\n%s", transcript.String())
	}
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = -int(ws.Signal())
	}
	return code, transcript.String()
}

// waitPrepullPodsGone: the garbage collector removes the pre-pull pods
// once their DaemonSet is gone.
func waitPrepullPodsGone(t *testing.T, ctx context.Context) {
	t.Helper()
	var n int
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cluster.Client.CoreV1().Pods(bgpNS).List(ctx, metav1.ListOptions{LabelSelector: restart.PrepullLabel})
		if err != nil {
			return false, err
		}
		n = len(pods.Items)
		return n == 0, nil
	})
	if err != nil {
		t.Errorf("%d pre-pull pods left: %v", n, err)
	}
}
