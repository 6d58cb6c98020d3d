package restart_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/restart"

	// Aliased: this test's own type is called workload.
	rollout "github.com/premortem/premortem/internal/workload"
	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// workload is one object of the test cluster.
type workload struct {
	kind     restart.Kind
	ns, name string
	replicas int32 // Deployments and StatefulSets
	priority string
	paused   bool
}

func (w workload) id() string { return string(w.kind) + "/" + w.ns + "/" + w.name }

// The cluster: 19 application workloads in 8 namespaces (one held by a PDB,
// one paused), a critical-priority ingress controller, and a kube-system
// shaped like incident 003's: one calico-typha replica whose image one node
// lacks, next to calico-node, kube-proxy, coredns and others.
var workloads = []workload{
	{kind: restart.Deployment, ns: "shop", name: "web", replicas: 3},
	{kind: restart.Deployment, ns: "shop", name: "api", replicas: 2},
	{kind: restart.Deployment, ns: "shop", name: "cart", replicas: 2},
	{kind: restart.StatefulSet, ns: "shop", name: "db", replicas: 3},
	{kind: restart.Deployment, ns: "blog", name: "web", replicas: 2},
	{kind: restart.Deployment, ns: "blog", name: "worker", replicas: 1},
	{kind: restart.Deployment, ns: "search", name: "indexer", replicas: 2}, // PDB minAvailable 2
	{kind: restart.Deployment, ns: "batch", name: "nightly", replicas: 2, paused: true},
	{kind: restart.Deployment, ns: "team-a", name: "svc-1", replicas: 2},
	{kind: restart.Deployment, ns: "team-a", name: "svc-2", replicas: 2},
	{kind: restart.Deployment, ns: "team-a", name: "svc-3", replicas: 1},
	{kind: restart.Deployment, ns: "team-b", name: "svc-1", replicas: 2},
	{kind: restart.Deployment, ns: "team-b", name: "svc-2", replicas: 2},
	{kind: restart.StatefulSet, ns: "team-b", name: "cache", replicas: 2},
	{kind: restart.DaemonSet, ns: "monitoring", name: "node-exporter"},
	{kind: restart.Deployment, ns: "monitoring", name: "grafana", replicas: 1},
	{kind: restart.StatefulSet, ns: "data", name: "kafka", replicas: 3},
	{kind: restart.Deployment, ns: "data", name: "connect", replicas: 2},
	{kind: restart.Deployment, ns: "ingress", name: "ingress-nginx", replicas: 2, priority: "system-cluster-critical"},
	{kind: restart.Deployment, ns: "kube-system", name: "calico-typha", replicas: 1},
	{kind: restart.DaemonSet, ns: "kube-system", name: "calico-node"},
	{kind: restart.Deployment, ns: "kube-system", name: "calico-kube-controllers", replicas: 2},
	{kind: restart.DaemonSet, ns: "kube-system", name: "kube-proxy"},
	{kind: restart.Deployment, ns: "kube-system", name: "coredns", replicas: 2},
	{kind: restart.Deployment, ns: "kube-system", name: "metrics-server", replicas: 2},
}

// held are the workloads the plan must hold back, with their gates.
var held = map[string][]string{
	"deployment/search/indexer":           {restart.GatePDB},
	"deployment/batch/nightly":            {restart.GatePaused},
	"deployment/kube-system/calico-typha": {restart.GateSingleReplica, restart.GateImageMissing},
}

func image(name string) string { return "registry.example/" + name + ":1" }

const nodes = 4

// addNodes adds the lab's nodes (again: adding is idempotent), each with
// every workload's image but the last, which lacks typha's: the node a new
// typha pod may land on without its image.
func addNodes(t *testing.T, ctx context.Context) {
	t.Helper()
	var all []string
	for _, w := range workloads {
		all = append(all, image(w.name))
	}
	var specs []lab.NodeSpec
	for i := 1; i <= nodes; i++ {
		imgs := all
		if i == nodes {
			imgs = slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == image("calico-typha") })
		}
		specs = append(specs, lab.NodeSpec{Name: fmt.Sprintf("node-%d", i), Images: imgs})
	}
	if err := cluster.AddNodes(ctx, specs...); err != nil {
		t.Fatal(err)
	}
}

func setup(t *testing.T, ctx context.Context) {
	t.Helper()
	addNodes(t, ctx)
	cs := cluster.Client
	seen := map[string]bool{}
	for _, w := range workloads {
		if !seen[w.ns] && w.ns != "kube-system" {
			seen[w.ns] = true
			if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		meta := metav1.ObjectMeta{Namespace: w.ns, Name: w.name, Labels: map[string]string{"app": w.name}}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.name}}
		tmpl := corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": w.name}},
			Spec: corev1.PodSpec{
				Containers:        []corev1.Container{{Name: "main", Image: image(w.name)}},
				PriorityClassName: w.priority,
			},
		}
		var err error
		switch w.kind {
		case restart.Deployment:
			d := &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &w.replicas, Selector: sel, Template: tmpl}}
			_, err = cs.AppsV1().Deployments(w.ns).Create(ctx, d, metav1.CreateOptions{})
		case restart.StatefulSet:
			s := &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: &w.replicas, Selector: sel, Template: tmpl, ServiceName: w.name}}
			_, err = cs.AppsV1().StatefulSets(w.ns).Create(ctx, s, metav1.CreateOptions{})
		case restart.DaemonSet:
			d := &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}
			_, err = cs.AppsV1().DaemonSets(w.ns).Create(ctx, d, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("create %s: %v", w.id(), err)
		}
	}
	minAvailable := intstr.FromInt32(2)
	if _, err := cs.PolicyV1().PodDisruptionBudgets("search").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "search", Name: "indexer"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "indexer"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A Deployment created paused never rolls out: let it settle, pause it,
	// and wait until its controller has seen the pause.
	waitSettled(t, ctx)
	for _, w := range workloads {
		if w.paused {
			patch := []byte(`{"spec":{"paused":true}}`)
			if _, err := cs.AppsV1().Deployments(w.ns).Patch(ctx, w.name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitSettled(t, ctx)
}

// waitSettled waits until every workload is rolled out and the PDB counts
// the indexer's pods.
func waitSettled(t *testing.T, ctx context.Context) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, w := range workloads {
			if p, err := progress(ctx, w); err != nil || !p.Complete {
				return false, nil
			}
		}
		pdb, err := cluster.Client.PolicyV1().PodDisruptionBudgets("search").Get(ctx, "indexer", metav1.GetOptions{})
		return err == nil && pdb.Status.ObservedGeneration >= 1 && pdb.Status.CurrentHealthy == 2, nil
	})
	if err != nil {
		for _, w := range workloads {
			p, _ := progress(ctx, w)
			t.Logf("%s: %+v", w.id(), p)
		}
		t.Fatalf("workloads did not become ready: %v", err)
	}
}

func progress(ctx context.Context, w workload) (rollout.Progress, error) {
	apps := cluster.Client.AppsV1()
	switch w.kind {
	case restart.Deployment:
		d, err := apps.Deployments(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return rollout.Progress{}, err
		}
		return rollout.DeploymentProgress(d), nil
	case restart.StatefulSet:
		s, err := apps.StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return rollout.Progress{}, err
		}
		return rollout.StatefulSetProgress(s), nil
	}
	d, err := apps.DaemonSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return rollout.Progress{}, err
	}
	return rollout.DaemonSetProgress(d), nil
}

// object returns a workload's metadata and pod template.
func object(t *testing.T, ctx context.Context, w workload) (metav1.ObjectMeta, corev1.PodTemplateSpec) {
	t.Helper()
	apps := cluster.Client.AppsV1()
	switch w.kind {
	case restart.Deployment:
		d, err := apps.Deployments(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.ObjectMeta, d.Spec.Template
	case restart.StatefulSet:
		s, err := apps.StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.ObjectMeta, s.Spec.Template
	}
	d, err := apps.DaemonSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.ObjectMeta, d.Spec.Template
}

// premortem runs the CLI in-process.
func premortem(ctx context.Context, out *syncBuffer, args ...string) int {
	return cli.Run(ctx, args, cli.Streams{In: strings.NewReader(""), Out: out, ErrOut: out})
}

// syncBuffer collects output written from several goroutines and calls
// onLine for each complete line.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(string)
	part   string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.part += string(p)
	for {
		i := strings.IndexByte(b.part, '\n')
		if i < 0 {
			break
		}
		if b.onLine != nil {
			b.onLine(b.part[:i])
		}
		b.part = b.part[i+1:]
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRestart(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	setup(t, ctx)
	started := time.Now()
	// Pages of 2: every kind but the PDBs takes several.
	const chunk = 2
	base := []string{"restart", "-A", "--kubeconfig", cluster.Kubeconfig, "--state-dir", t.TempDir(), "--timeout", "2m", "--concurrency", "3", "--chunk-size", strconv.Itoa(chunk)}

	// 1. The plan: ordered, gated, and nothing changed.
	var out syncBuffer
	if code := premortem(ctx, &out, append(base, "-o", "json")...); code != cli.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, out.String())
	}
	var plan restart.Plan
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, out.String())
	}
	checkPlan(t, &plan)
	if patches := auditPatches(t); len(patches) != 0 {
		t.Fatalf("the plan alone sent %d PATCHes", len(patches))
	}
	checkReads(t, chunk)

	// 2. --apply, killed once four workloads have been restarted (the next
	// wave is then being patched and rolled out).
	applyArgs := append(base, "--apply")
	interrupted, cancel := context.WithCancel(ctx)
	restartedLines := 0
	first := &syncBuffer{onLine: func(l string) {
		if strings.Contains(l, "] restarted") {
			if restartedLines++; restartedLines == 4 {
				cancel()
			}
		}
	}}
	code := premortem(interrupted, first, applyArgs...)
	cancel()
	t.Logf("first --apply (interrupted), exit %d:\n%s", code, first.String())
	if code != cli.ExitError {
		t.Fatalf("interrupted --apply: exit %d, want %d", code, cli.ExitError)
	}
	m := regexp.MustCompile(`Applying run (\S+)\.`).FindStringSubmatch(first.String())
	if m == nil {
		t.Fatal("no run ID in the output")
	}
	runID := m[1]
	patchedBeforeResume := len(auditPatches(t))
	if patchedBeforeResume < 4 || patchedBeforeResume >= plan.Counts.Restart {
		t.Fatalf("%d PATCHes before the resume: the interruption did not land mid-run", patchedBeforeResume)
	}

	// 3. The same command again: it resumes the run and finishes it. Exit 1:
	// three workloads stay held back.
	second := &syncBuffer{}
	code = premortem(ctx, second, applyArgs...)
	t.Logf("second --apply (resume), exit %d:\n%s", code, second.String())
	if code != cli.ExitFindings {
		t.Fatalf("resumed --apply: exit %d, want %d", code, cli.ExitFindings)
	}
	if !strings.Contains(second.String(), "Resuming run "+runID) {
		t.Errorf("the second --apply did not resume run %s", runID)
	}

	// 4. Everything but the held workloads restarted exactly once, in order,
	// and every pod is new and ready.
	patches := auditPatches(t)
	checkPatches(t, &plan, patches)
	checkWaits(t, &plan)
	checkRestarted(t, ctx, runID, started)

	// 5. Resuming a finished run is a no-op; forcing typha restarts only it.
	third := &syncBuffer{}
	code = premortem(ctx, third, append(applyArgs, "--run-id", runID)...)
	if code != cli.ExitFindings || len(auditPatches(t)) != len(patches) {
		t.Fatalf("re-running finished run %s: exit %d, %d PATCHes (was %d)\n%s", runID, code, len(auditPatches(t)), len(patches), third.String())
	}
	fourth := &syncBuffer{}
	code = premortem(ctx, fourth, append(applyArgs, "--run-id", runID, "--force", "deployment/kube-system/calico-typha")...)
	t.Logf("--force typha, exit %d:\n%s", code, fourth.String())
	after := auditPatches(t)
	if code != cli.ExitFindings || len(after) != len(patches)+1 || after[len(after)-1].ObjectRef.Name != "calico-typha" {
		t.Fatalf("--force typha: exit %d, %d PATCHes (was %d)", code, len(after), len(patches))
	}
	meta, _ := object(t, ctx, workloads[slices.IndexFunc(workloads, func(w workload) bool { return w.name == "calico-typha" })])
	if meta.Annotations[restart.RunAnnotation] != runID || meta.Generation != 2 {
		t.Errorf("typha after --force: run %q generation %d", meta.Annotations[restart.RunAnnotation], meta.Generation)
	}
}

func checkPlan(t *testing.T, p *restart.Plan) {
	t.Helper()
	if len(p.Steps) != len(workloads) {
		t.Fatalf("%d steps, want %d", len(p.Steps), len(workloads))
	}
	pos := map[string]int{}
	lastApp, firstCritical := -1, len(p.Steps)
	for i, s := range p.Steps {
		pos[s.ID] = i
		gates := []string{}
		for _, g := range s.Gates {
			gates = append(gates, g.ID)
		}
		if want, ok := held[s.ID]; ok {
			if s.Action != restart.ActionSkip || !slices.Equal(gates, want) {
				t.Errorf("%s: %s gates %q, want skip gates %q", s.ID, s.Action, gates, want)
			}
		} else if s.Action != restart.ActionRestart || len(gates) > 0 {
			t.Errorf("%s: %s gates %q, want restart", s.ID, s.Action, gates)
		}
		if s.Phase == restart.PhaseCritical {
			firstCritical = min(firstCritical, i)
		} else {
			lastApp = i
		}
	}
	if lastApp > firstCritical {
		t.Errorf("an application step comes after a critical one")
	}
	if p.Steps[pos["deployment/ingress/ingress-nginx"]].Phase != restart.PhaseCritical {
		t.Errorf("system-cluster-critical ingress-nginx is not critical")
	}
	if !(pos["deployment/kube-system/calico-typha"] < pos["daemonset/kube-system/calico-node"] &&
		pos["daemonset/kube-system/calico-node"] < pos["daemonset/kube-system/kube-proxy"] &&
		pos["daemonset/kube-system/kube-proxy"] < pos["deployment/kube-system/coredns"]) {
		t.Errorf("critical order: typha, calico-node, kube-proxy, coredns expected; got %v", pos)
	}
	if p.Counts.Restart != len(workloads)-len(held) || p.Counts.Skip != len(held) {
		t.Errorf("counts %+v", p.Counts)
	}
	waves := map[int]int{}
	for _, s := range p.Steps {
		waves[s.Wave]++
		if s.Phase == restart.PhaseCritical && s.Wave > 0 && waves[s.Wave] > 1 {
			t.Errorf("critical %s shares wave %d", s.ID, s.Wave)
		}
		if s.Wave > 0 && waves[s.Wave] > p.Concurrency {
			t.Errorf("wave %d larger than the concurrency", s.Wave)
		}
	}
}

// auditPatches returns premortem's successful PATCHes, in arrival order.
func auditPatches(t *testing.T) []auditlog.Event {
	t.Helper()
	return auditEvents(t, func(ev auditlog.Event) bool {
		return ev.Verb == "patch" && ev.ResponseStatus != nil && ev.ResponseStatus.Code == 200
	})
}

// checkReads: the plan (the only premortem request so far) read with one
// LIST chain per kind, paginated from the watch cache (auditlog.Lists), in
// pages of chunk, and made no other request but discovery.
func checkReads(t *testing.T, chunk int) {
	t.Helper()
	events := auditEvents(t, func(auditlog.Event) bool { return true })
	for _, ev := range events {
		if ev.Verb != "list" && (ev.Verb != "get" || ev.ObjectRef != nil) {
			t.Errorf("plan request %s %s: want only LISTs and discovery", ev.Verb, ev.RequestURI)
		}
	}
	chains := auditlog.Lists(t, events)
	chainsPerKind := map[string]int{}
	for k, c := range chains {
		chainsPerKind[k] = c.Chains
	}
	want := map[string]int{"deployments.apps": 1, "statefulsets.apps": 1, "daemonsets.apps": 1, "poddisruptionbudgets.policy": 1, "nodes.": 1}
	if !maps.Equal(chainsPerKind, want) {
		t.Errorf("plan LIST chains per kind %v, want %v", chainsPerKind, want)
	}
	count := map[restart.Kind]int{}
	for _, w := range workloads {
		count[w.kind]++
	}
	auditlog.Paged(t, chains, "deployments.apps", count[restart.Deployment])
	auditlog.Paged(t, chains, "statefulsets.apps", count[restart.StatefulSet])
	auditlog.Paged(t, chains, "daemonsets.apps", count[restart.DaemonSet])
	auditlog.Paged(t, chains, "nodes.", nodes)
	if c := chains["deployments.apps"]; c != nil && c.Limit != int64(chunk) {
		t.Errorf("deployments listed with limit %d, want --chunk-size %d", c.Limit, chunk)
	}
}

// auditEvents returns premortem's requests that keep accepts, in arrival
// order.
func auditEvents(t *testing.T, keep func(auditlog.Event) bool) []auditlog.Event {
	t.Helper()
	return slices.DeleteFunc(auditlog.Since(t, cluster.AuditLog, 0, "premortem-restart"), func(ev auditlog.Event) bool { return !keep(ev) })
}

// checkPatches: one PATCH per restarted workload, none for held ones;
// every application before every critical one; critical ones in plan order.
func checkPatches(t *testing.T, p *restart.Plan, patches []auditlog.Event) {
	t.Helper()
	count := map[string]int{}
	var order []string
	for _, ev := range patches {
		kind := strings.TrimSuffix(ev.ObjectRef.Resource, "s")
		id := kind + "/" + ev.ObjectRef.Namespace + "/" + ev.ObjectRef.Name
		count[id]++
		order = append(order, id)
	}
	var critical []string
	for _, s := range p.Steps {
		want := 1
		if s.Action != restart.ActionRestart {
			want = 0
		}
		if count[s.ID] != want {
			t.Errorf("%s: %d PATCHes, want %d", s.ID, count[s.ID], want)
		}
		if s.Phase == restart.PhaseCritical && want == 1 {
			critical = append(critical, s.ID)
		}
	}
	if len(order) >= len(critical) && !slices.Equal(order[len(order)-len(critical):], critical) {
		t.Errorf("PATCH order %q: want the critical ones last, in plan order %q", order, critical)
	}
}

// checkWaits: waiting watched each workload instead of polling it: at least
// one watch on every restarted workload, and a handful of GETs at most (one
// before its PATCH, one when a resumed run picks it up, one if a watch ends).
func checkWaits(t *testing.T, p *restart.Plan) {
	t.Helper()
	gets, watches := map[string]int{}, map[string]int{}
	for _, ev := range auditEvents(t, func(ev auditlog.Event) bool { return ev.ObjectRef != nil && ev.ObjectRef.Name != "" }) {
		id := strings.TrimSuffix(ev.ObjectRef.Resource, "s") + "/" + ev.ObjectRef.Namespace + "/" + ev.ObjectRef.Name
		switch ev.Verb {
		case "get":
			gets[id]++
		case "watch":
			watches[id]++
		}
	}
	for _, s := range p.Steps {
		if s.Action != restart.ActionRestart {
			continue
		}
		if watches[s.ID] < 1 || gets[s.ID] > 3 {
			t.Errorf("%s: %d watches, %d GETs: want watching, not polling", s.ID, watches[s.ID], gets[s.ID])
		}
	}
	t.Logf("GETs per workload %v", gets)
}

// checkRestarted: every restarted workload carries the run and one new
// template (generation 2), and all its pods are new and ready.
func checkRestarted(t *testing.T, ctx context.Context, runID string, started time.Time) {
	t.Helper()
	for _, w := range workloads {
		meta, tmpl := object(t, ctx, w)
		_, isHeld := held[w.id()]
		wantGen := int64(2)
		if isHeld {
			wantGen = 1
			if w.paused {
				wantGen = 2 // the test paused it with a PATCH of its own
			}
		}
		if got := meta.Annotations[restart.RunAnnotation]; (got == runID) == isHeld {
			t.Errorf("%s: run annotation %q", w.id(), got)
		}
		if meta.Generation != wantGen {
			t.Errorf("%s: generation %d, want %d (one template change per restart)", w.id(), meta.Generation, wantGen)
		}
		if isHeld {
			continue
		}
		at, err := time.Parse(time.RFC3339, tmpl.Annotations[restart.RestartedAtAnnotation])
		if err != nil || at.Before(started.Truncate(time.Second)) {
			t.Errorf("%s: restartedAt %q", w.id(), tmpl.Annotations[restart.RestartedAtAnnotation])
		}
		want := int(w.replicas)
		if w.kind == restart.DaemonSet {
			want = nodes
		}
		// Old pods go away a moment after the rollout completes.
		var detail string
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			pods, err := cluster.Client.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + w.name})
			if err != nil {
				return false, err
			}
			ready := 0
			for _, pod := range pods.Items {
				if pod.CreationTimestamp.Time.Before(at) || pod.DeletionTimestamp != nil {
					continue
				}
				for _, c := range pod.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			detail = fmt.Sprintf("%d pods, %d new and ready, want %d", len(pods.Items), ready, want)
			return len(pods.Items) == want && ready == want, nil
		})
		if err != nil {
			t.Errorf("%s: %s", w.id(), detail)
		}
	}
}

// TestKilledBinary: the built binary, killed with SIGKILL in the middle of a
// run (no chance to clean up or to finish a request), then the same command
// again: the run finishes and no workload is restarted twice. It works in a
// namespace of its own, after TestRestart.
func TestKilledBinary(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "premortem")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/premortem/premortem/cmd/premortem").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const ns = "killed"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mine []workload
	for i := range 8 {
		w := workload{kind: restart.Deployment, ns: ns, name: fmt.Sprintf("app-%d", i), replicas: 2}
		mine = append(mine, w)
		sel := map[string]string{"app": w.name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: w.name, Labels: sel},
			Spec: appsv1.DeploymentSpec{Replicas: &w.replicas, Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image(w.name)}}}}},
		}
		if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, w := range mine {
			if p, err := progress(ctx, w); err != nil || !p.Complete {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	inNamespace := func() map[string]int {
		n := map[string]int{}
		for _, ev := range auditPatches(t) {
			if ev.ObjectRef.Namespace == ns {
				n[ev.ObjectRef.Name]++
			}
		}
		return n
	}

	args := []string{"restart", "-n", ns, "--kubeconfig", cluster.Kubeconfig, "--state-dir", t.TempDir(),
		"--timeout", "2m", "--concurrency", "2", "--apply"}
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	sc := bufio.NewScanner(stdout)
	restarted := 0
	for sc.Scan() {
		transcript.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "] restarted") {
			if restarted++; restarted == 3 {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	_ = cmd.Wait()
	t.Logf("killed binary after %d restarts:\n%s", restarted, transcript.String())
	before := inNamespace()
	if restarted != 3 || len(before) < 3 || len(before) >= len(mine) {
		t.Fatalf("kill did not land mid-run: %d restarted lines, PATCHes %v", restarted, before)
	}

	var out syncBuffer
	code := premortem(ctx, &out, args...)
	t.Logf("second run, exit %d:\n%s", code, out.String())
	if code != cli.ExitOK || !strings.Contains(out.String(), "Resuming run") {
		t.Fatalf("second run: exit %d", code)
	}
	after := inNamespace()
	for _, w := range mine {
		meta, _ := object(t, ctx, w)
		if after[w.name] != 1 || meta.Generation != 2 {
			t.Errorf("%s: %d PATCHes, generation %d; want 1 and 2", w.id(), after[w.name], meta.Generation)
		}
		if p, err := progress(ctx, w); err != nil || !p.Complete {
			t.Errorf("%s: %+v %v", w.id(), p, err)
		}
	}
}
