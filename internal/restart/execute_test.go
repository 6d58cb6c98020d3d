package restart

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These unit tests drive the executor against client-go's fake clientset,
// which has no controllers: a patched workload keeps its (complete) status,
// so they test what the executor sends and how it stops, not rollouts. The
// rollouts themselves are tested against the lab (test/e2e/restart).

func patches(c *fake.Clientset) []k8stesting.PatchAction {
	var out []k8stesting.PatchAction
	for _, a := range c.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestExecutePatchesOnceWithPrecondition(t *testing.T) {
	d := deployment("shop", "web", 2)
	d.ResourceVersion = "7"
	already := deployment("shop", "api", 2, runAnnotated(run))
	client := fake.NewClientset(&d, &already)
	// The first PATCH of web conflicts (someone changed it): the executor
	// must look again and patch with the new resourceVersion.
	conflicted := false
	client.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !conflicted && a.(k8stesting.PatchAction).GetName() == "web" {
			conflicted = true
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", nil)
		}
		return false, nil, nil
	})
	snap := cluster{deployments: []appsv1.Deployment{d, already}}.snapshot()
	p := plan(t, snap, Options{})
	// The plan was made before api was marked by a concurrent invocation:
	// pretend api is still to restart; the executor must notice the mark.
	for i := range p.Steps {
		if p.Steps[i].Name == "api" {
			p.Steps[i].Action, p.Steps[i].Wave = ActionRestart, 1
		}
	}
	now := time.Date(2026, 9, 21, 10, 0, 0, 0, time.UTC)
	e := &Executor{Client: client, Timeout: 5 * time.Second, Now: func() time.Time { return now }}
	res, err := e.Execute(context.Background(), p)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	ps := patches(client)
	if len(ps) != 2 || ps[0].GetName() != "web" || ps[1].GetName() != "web" {
		t.Fatalf("PATCHes %d (want 2 to web: one conflict, one retry)", len(ps))
	}
	var body struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(ps[1].GetPatch(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Metadata.ResourceVersion == "" || body.Metadata.Annotations[RunAnnotation] != run ||
		body.Spec.Template.Metadata.Annotations[RestartedAtAnnotation] != "2026-09-21T10:00:00Z" {
		t.Errorf("patch body %s", ps[1].GetPatch())
	}
	got := map[string]Outcome{}
	for _, s := range res.Steps {
		got[s.ID] = s.Outcome
	}
	if got["deployment/shop/web"] != OutcomeRestarted || got["deployment/shop/api"] != OutcomeWaited {
		t.Errorf("outcomes %v", got)
	}
}

func TestExecuteStopsAtFirstFailure(t *testing.T) {
	// rolling: marked by this run but its rollout never finishes (no
	// controller here), so waiting for it times out.
	rolling := deployment("a", "rolling", 2, runAnnotated(run), unavailable)
	next := deployment("b", "next", 2)
	client := fake.NewClientset(&rolling, &next)
	p := plan(t, cluster{deployments: []appsv1.Deployment{rolling, next}}.snapshot(), Options{Concurrency: 1})
	var progress strings.Builder
	e := &Executor{Client: client, Timeout: 300 * time.Millisecond, Progress: &progress}
	res, err := e.Execute(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "not rolled out within the timeout") {
		t.Fatalf("Execute error %v, want a timeout", err)
	}
	if res.Failed == nil || res.Failed.ID != "deployment/a/rolling" || res.Count(OutcomeNotStarted) != 1 {
		t.Errorf("result %+v", res)
	}
	if len(patches(client)) != 0 {
		t.Errorf("patched after the failure")
	}
	if !strings.Contains(progress.String(), "failed    deployment/a/rolling") {
		t.Errorf("progress %q", progress.String())
	}
}

func TestExecuteWaitsForDependency(t *testing.T) {
	// calico-node is rolling (marked by this run, as after an interrupted
	// invocation) and never finishes here: typha must not be patched.
	typha := deployment("kube-system", "calico-typha", 2)
	node := daemonSet("kube-system", "calico-node", 3, dsRolling)
	node.Annotations = map[string]string{RunAnnotation: run}
	client := fake.NewClientset(&typha, &node)
	p := plan(t, cluster{deployments: []appsv1.Deployment{typha}, daemonSets: []appsv1.DaemonSet{node}}.snapshot(), Options{})
	if p.Steps[0].ID != "deployment/kube-system/calico-typha" || p.Steps[0].Action != ActionRestart {
		t.Fatalf("plan starts with %s %s, want typha restart", p.Steps[0].ID, p.Steps[0].Action)
	}
	e := &Executor{Client: client, Timeout: 300 * time.Millisecond}
	_, err := e.Execute(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "dependency daemonset/kube-system/calico-node: not fully ready before") {
		t.Fatalf("Execute error %v, want the dependency wait to time out", err)
	}
	if len(patches(client)) != 0 {
		t.Errorf("typha was patched while calico-node was rolling")
	}
}

func TestExecuteForcedPausedDoesNotWait(t *testing.T) {
	d := deployment("batch", "nightly", 2, paused)
	client := fake.NewClientset(&d)
	p := plan(t, cluster{deployments: []appsv1.Deployment{d}}.snapshot(), Options{Force: []Ref{{Kind: Deployment, Namespace: "batch", Name: "nightly"}}})
	// No controller here, but a real one would not roll a paused Deployment
	// either: make the rollout look unfinished after the patch.
	client.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		out := d.DeepCopy()
		out.Generation = 3
		return true, out, nil
	})
	e := &Executor{Client: client, Timeout: 300 * time.Millisecond}
	res, err := e.Execute(context.Background(), p)
	if err != nil || res.Steps[0].Outcome != OutcomeRestarted || !strings.Contains(res.Steps[0].Detail, "paused") {
		t.Fatalf("Execute: %v %+v", err, res.Steps)
	}
}

func TestExecuteDeletedSincePlanIsNotAFailure(t *testing.T) {
	gone, next := deployment("a", "gone", 2), deployment("b", "next", 2)
	client := fake.NewClientset(&next)
	p := plan(t, cluster{deployments: []appsv1.Deployment{gone, next}}.snapshot(), Options{Concurrency: 1})
	e := &Executor{Client: client, Timeout: time.Second}
	res, err := e.Execute(context.Background(), p)
	if err != nil || res.Steps[0].Outcome != OutcomeGone || res.Steps[1].Outcome != OutcomeRestarted {
		t.Fatalf("Execute: %v %+v", err, res.Steps)
	}
}

// Waits watch through Watches when it is set (the client without the
// request timeout), each watch bounded on the server side.
func TestExecuteWatchesThroughTheirOwnClient(t *testing.T) {
	rolling := deployment("a", "rolling", 2, runAnnotated(run), unavailable)
	client := fake.NewClientset(&rolling)
	watches := fake.NewClientset(&rolling)
	p := plan(t, cluster{deployments: []appsv1.Deployment{rolling}}.snapshot(), Options{Concurrency: 1})
	e := &Executor{Client: client, Watches: watches, Timeout: 300 * time.Millisecond}
	if _, err := e.Execute(context.Background(), p); err == nil {
		t.Fatal("the rollout never finishes here: want a timeout")
	}
	var watched int
	for _, a := range watches.Actions() {
		if w, ok := a.(k8stesting.WatchActionImpl); ok {
			watched++
			if ts := w.ListOptions.TimeoutSeconds; ts == nil || *ts <= 0 || *ts > int64(WatchTimeout.Seconds()) {
				t.Errorf("watch not bounded on the server side: %+v", w.ListOptions)
			}
		}
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "watch" {
			t.Errorf("watched through the request-timeout client: %+v", a)
		}
	}
	if watched == 0 {
		t.Error("no watch through Watches")
	}
}
