package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/workload"
)

// Executor runs a plan against a cluster.
type Executor struct {
	Client kubernetes.Interface
	// Watches, when set, is the client for watches: one without the
	// per-request timeout of Client, which would cut every watch at that
	// timeout. Each watch asks the server to end it after WatchTimeout,
	// and the wait starts a new one, within Timeout.
	Watches kubernetes.Interface
	// Timeout bounds each wait: for a dependency or the workload itself to
	// be ready before its restart, and for its rollout after.
	Timeout time.Duration
	// Progress receives one line per workload as it finishes.
	Progress io.Writer
	// Now stamps restartedAt; time.Now when nil.
	Now func() time.Time
	// Log receives conflicts, patches and watch errors; nil discards them.
	Log *slog.Logger
	// PauseImage is the container of pre-pull pods; DefaultPauseImage when
	// empty (prepull.go).
	PauseImage string
}

func (e *Executor) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// WatchTimeout is the longest one watch of a workload lasts before the
// server ends it and the wait, if it still has time, starts another.
const WatchTimeout = 5 * time.Minute

// Outcome is what happened to one step.
type Outcome string

const (
	OutcomeRestarted  Outcome = "restarted"   // patched by this invocation, rollout complete
	OutcomeWaited     Outcome = "waited"      // patched earlier by this run; rollout now complete
	OutcomeDone       Outcome = "done"        // restarted earlier by this run
	OutcomeSkipped    Outcome = "skipped"     // held back by a gate
	OutcomeNone       Outcome = "none"        // nothing to restart
	OutcomeGone       Outcome = "gone"        // deleted since the plan was made
	OutcomeFailed     Outcome = "failed"      // see Detail
	OutcomeCancelled  Outcome = "cancelled"   // interrupted (Ctrl-C, a cancelled context)
	OutcomeNotStarted Outcome = "not-started" // an earlier failure stopped the run
)

// StepResult is one workload's line in the report.
type StepResult struct {
	ID      string        `json:"id"`
	Outcome Outcome       `json:"outcome"`
	Elapsed time.Duration `json:"elapsed"`
	Detail  string        `json:"detail,omitempty"`
}

// Result is a run's report.
type Result struct {
	RunID   string        `json:"runId"`
	Steps   []StepResult  `json:"steps"`
	Elapsed time.Duration `json:"elapsed"`
	// Failed is the first failure, nil when every runnable step finished.
	Failed *StepResult `json:"failed,omitempty"`
}

// Count returns how many steps ended with o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, s := range r.Steps {
		if s.Outcome == o {
			n++
		}
	}
	return n
}

// Execute runs the plan wave by wave: the steps of a wave together, the next
// wave only when all of them have rolled out. It stops at the first failure
// (or when ctx ends) and returns the report with that failure; steps after
// it are not started. A re-run with the same run ID resumes: every patch
// marks the workload with the run, and the planner turns marked workloads
// into done or wait steps.
func (e *Executor) Execute(ctx context.Context, p *Plan) (*Result, error) {
	start := time.Now()
	res := &Result{RunID: p.RunID, Steps: make([]StepResult, len(p.Steps))}
	total := 0
	for i, s := range p.Steps {
		res.Steps[i] = StepResult{ID: s.ID, Outcome: OutcomeNotStarted}
		switch s.Action {
		case ActionDone:
			res.Steps[i].Outcome, res.Steps[i].Detail = OutcomeDone, s.Reason
		case ActionSkip:
			res.Steps[i].Outcome, res.Steps[i].Detail = OutcomeSkipped, gateIDs(s.Gates)
		case ActionNone:
			res.Steps[i].Outcome, res.Steps[i].Detail = OutcomeNone, s.Reason
		default:
			total++
		}
	}
	var mu sync.Mutex
	finished := 0
	report := func(i int, r StepResult) {
		mu.Lock()
		defer mu.Unlock()
		res.Steps[i] = r
		finished++
		if e.Progress != nil {
			// The workload's name and the server's errors come from the
			// cluster: escaped, they cannot rewrite the terminal.
			fmt.Fprintf(e.Progress, "[%*d/%d] %-9s %s %s  %s\n", len(fmt.Sprint(total)), finished, total, r.Outcome,
				output.Text(r.ID), r.Elapsed.Round(100*time.Millisecond), output.Text(r.Detail))
		}
	}
	// Pre-pull DaemonSets a killed invocation of this run left go first.
	e.removeLeftovers(ctx, p)
	var err error
	for wave := 1; wave <= p.Waves && err == nil; wave++ {
		var wg sync.WaitGroup
		errs := make([]error, len(p.Steps))
		for i := range p.Steps {
			if p.Steps[i].Wave != wave {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				outcome, detail, stepErr := e.step(ctx, p.RunID, &p.Steps[i])
				r := StepResult{ID: p.Steps[i].ID, Outcome: outcome, Elapsed: time.Since(t0), Detail: detail}
				if stepErr != nil {
					r.Outcome, r.Detail, errs[i] = OutcomeFailed, stepErr.Error(), stepErr
					if errors.Is(ctx.Err(), context.Canceled) {
						r.Outcome = OutcomeCancelled
					}
				}
				report(i, r)
			}()
		}
		wg.Wait()
		for i, stepErr := range errs {
			if stepErr != nil && err == nil {
				err = stepErr
				f := res.Steps[i]
				res.Failed = &f
			}
		}
	}
	res.Elapsed = time.Since(start)
	return res, err
}

func gateIDs(gs []Gate) string {
	s := ""
	for i, g := range gs {
		if i > 0 {
			s += ", "
		}
		s += g.ID
	}
	return s
}

// step runs one workload: wait for its dependencies and itself to be ready,
// patch it (unless this run already did), wait for its rollout.
//
// On typha and calico-node (BGPWindowSeconds set), every wait must see
// progress within the BGP graceful-restart window: a rollout that stalls
// longer is what lets the peers withdraw the pod network's routes, so the
// run stops there instead of going on to the next component.
func (e *Executor) step(ctx context.Context, runID string, s *Step) (Outcome, string, error) {
	stall := time.Duration(s.BGPWindowSeconds) * time.Second
	for _, id := range s.After {
		peer, err := ParseRef(id)
		if err != nil {
			return "", "", err
		}
		if _, err := e.waitFor(ctx, peer, "fully ready before "+s.ID+" restarts", stall); err != nil {
			return "", "", fmt.Errorf("dependency %w", err)
		}
	}
	if s.Prepull != nil && s.Action == ActionRestart {
		// Removed once the rollout is over: until then the pulled images
		// are in use and safe from the kubelet's image garbage collection.
		remove, err := e.prepull(ctx, runID, s)
		defer remove()
		if errors.Is(err, errGone) {
			return OutcomeGone, "deleted since the plan was made", nil
		} else if err != nil {
			return "", "", err
		}
	}
	outcome := OutcomeWaited
	var obj object
	if s.Action == ActionRestart {
		var patched bool
		var err error
		if obj, patched, err = e.restart(ctx, runID, s, stall); errors.Is(err, errGone) {
			return OutcomeGone, "deleted since the plan was made", nil
		} else if err != nil {
			return "", "", err
		}
		if patched {
			outcome = OutcomeRestarted
		}
		// A paused Deployment (forced past its gate) keeps the new template
		// until someone resumes it: there is no rollout to wait for.
		if d, ok := obj.(deploymentObject); ok && d.Spec.Paused {
			return outcome, "paused: its pods roll when it is resumed", nil
		}
	}
	obj, err := e.waitFor(ctx, s.Ref, "rolled out", stall, obj)
	if err != nil {
		return "", "", err
	}
	return outcome, obj.progress().Detail, nil
}

// errGone: the workload was deleted between the plan and its turn.
var errGone = errors.New("gone")

// restart patches the restart annotation and the run mark in one request,
// with the resourceVersion it last saw as a precondition: if anyone changed
// the workload in between (another premortem included), the patch fails
// with a conflict, and the workload is looked at again. It returns patched
// false when the workload already carries this run's mark.
func (e *Executor) restart(ctx context.Context, runID string, s *Step, stall time.Duration) (object, bool, error) {
	kc := clientFor(e.Client, s.Kind)
	for attempt := 0; ; attempt++ {
		obj, err := kc.get(ctx, s.Namespace, s.Name)
		if apierrors.IsNotFound(err) {
			return nil, false, errGone
		}
		if err != nil {
			return nil, false, fmt.Errorf("get %s: %w", s.ID, err)
		}
		if obj.meta().GetAnnotations()[RunAnnotation] == runID {
			return obj, false, nil
		}
		if !obj.progress().Complete && !s.forcedPast(GateNotAvailable) {
			// Healthy at plan time, not now (the cluster moves during a long
			// run): give it the timeout to settle, never restart it unready.
			if obj, err = e.waitFor(ctx, s.Ref, "fully available before its restart", stall, obj); err != nil {
				return nil, false, err
			}
		}
		now := time.Now
		if e.Now != nil {
			now = e.Now
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{
				"resourceVersion": obj.meta().GetResourceVersion(),
				"annotations":     map[string]string{RunAnnotation: runID},
			},
			"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
				"annotations": map[string]string{RestartedAtAnnotation: now().UTC().Format(time.RFC3339)},
			}}},
		})
		if err != nil {
			return nil, false, err
		}
		patched, err := kc.patch(ctx, s.Namespace, s.Name, patch)
		if apierrors.IsConflict(err) && attempt < 5 {
			e.log().Info("conflict, looking again", "workload", s.ID)
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("patch %s: %w", s.ID, err)
		}
		e.log().Info("patched", "workload", s.ID, "generation", patched.meta().GetGeneration())
		return patched, true, nil
	}
}

// waitFor watches one workload until its rollout is complete, for at most
// e.Timeout. It starts from obj when given (no extra GET), checks it, then
// follows a watch on that one object from its resourceVersion; when the
// watch ends (server timeout, expired resourceVersion) it gets the object
// again and watches anew. It never polls. With stall > 0 it also fails when
// the rollout's progress (its counts) has not changed for that long.
func (e *Executor) waitFor(ctx context.Context, ref Ref, what string, stall time.Duration, start ...object) (object, error) {
	ctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	st := &stallWatch{limit: stall}
	if stall > 0 {
		st.timer = time.NewTimer(stall)
		defer st.timer.Stop()
	}
	kc := clientFor(e.Client, ref.Kind)
	wc := kc
	if e.Watches != nil {
		wc = clientFor(e.Watches, ref.Kind)
	}
	// Rounded up: 0 would mean the server's own default.
	watchSeconds := int64(math.Ceil(min(e.Timeout, WatchTimeout).Seconds()))
	var obj object
	if len(start) > 0 && start[0] != nil {
		obj = start[0]
	}
	for {
		if obj == nil {
			var err error
			if obj, err = kc.get(ctx, ref.Namespace, ref.Name); err != nil {
				return nil, waitError(ctx, ref, what, nil, err)
			}
		}
		if p := obj.progress(); p.Complete {
			return obj, nil
		} else if p.Failed {
			return nil, fmt.Errorf("%s: rollout failed: %s", ref, p.Detail)
		}
		st.seen(obj)
		w, err := wc.watch(ctx, ref.Namespace, metav1.ListOptions{
			FieldSelector:       fields.OneTermEqualSelector("metadata.name", ref.Name).String(),
			ResourceVersion:     obj.meta().GetResourceVersion(),
			AllowWatchBookmarks: true,
			TimeoutSeconds:      &watchSeconds,
		})
		if err != nil {
			return nil, waitError(ctx, ref, what, obj, err)
		}
		last, done, err := e.follow(ctx, w, obj, st)
		w.Stop()
		if errors.Is(err, errStalled) {
			return nil, fmt.Errorf("%s: not %s: %w (%s, for %s): the BGP peers may be withdrawing the pod network's routes (incident 003); stopping here",
				ref, what, err, last.progress().Detail, st.limit)
		}
		if done || err != nil {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			return last, nil
		}
		if ctx.Err() != nil {
			return nil, waitError(ctx, ref, what, last, ctx.Err())
		}
		// The watch ended without an answer: look again, after a pause so
		// that a watch refused over and over cannot become a tight loop.
		obj = nil
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// errStalled: no progress within the stall limit (the BGP window).
var errStalled = errors.New("no progress within the BGP graceful-restart window")

// stallWatch restarts its timer whenever a rollout's progress changes.
type stallWatch struct {
	limit  time.Duration
	timer  *time.Timer // nil: no limit
	detail string
}

func (s *stallWatch) seen(o object) {
	if s.timer == nil {
		return
	}
	if d := o.progress().Detail; d != s.detail {
		s.detail = d
		s.timer.Reset(s.limit)
	}
}

func (s *stallWatch) expired() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C
}

// follow reads watch events until the rollout completes, fails, stalls or
// the watch ends; it returns the last object seen.
func (e *Executor) follow(ctx context.Context, w watch.Interface, last object, st *stallWatch) (object, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return last, false, nil
		case <-st.expired():
			return last, false, errStalled
		case ev, ok := <-w.ResultChan():
			if !ok {
				return last, false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				o, ok := wrap(ev.Object)
				if !ok {
					continue
				}
				last = o
				st.seen(o)
				if p := o.progress(); p.Complete {
					return o, true, nil
				} else if p.Failed {
					return o, false, fmt.Errorf("rollout failed: %s", p.Detail)
				}
			case watch.Deleted:
				return last, false, errors.New("deleted while waiting for it")
			case watch.Error:
				e.log().Info("watch error, restarting the watch", "err", apierrors.FromObject(ev.Object))
				return last, false, nil
			}
		}
	}
}

func waitError(ctx context.Context, ref Ref, what string, last object, err error) error {
	detail := ""
	if last != nil {
		detail = " (" + last.progress().Detail + ")"
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%s: not %s within the timeout%s", ref, what, detail)
		}
		return fmt.Errorf("%s: interrupted while waiting for it to be %s%s", ref, what, detail)
	}
	return fmt.Errorf("%s: waiting for it to be %s: %w%s", ref, what, err, detail)
}

// object is a Deployment, StatefulSet or DaemonSet as the executor sees it.
type object interface {
	meta() metav1.Object
	progress() workload.Progress
	template() *corev1.PodTemplateSpec
}

type deploymentObject struct{ *appsv1.Deployment }
type statefulSetObject struct{ *appsv1.StatefulSet }
type daemonSetObject struct{ *appsv1.DaemonSet }

func (o deploymentObject) meta() metav1.Object { return o.Deployment }
func (o deploymentObject) progress() workload.Progress {
	return workload.DeploymentProgress(o.Deployment)
}
func (o statefulSetObject) meta() metav1.Object { return o.StatefulSet }
func (o statefulSetObject) progress() workload.Progress {
	return workload.StatefulSetProgress(o.StatefulSet)
}
func (o daemonSetObject) meta() metav1.Object { return o.DaemonSet }
func (o daemonSetObject) progress() workload.Progress {
	return workload.DaemonSetProgress(o.DaemonSet)
}
func (o deploymentObject) template() *corev1.PodTemplateSpec  { return &o.Spec.Template }
func (o statefulSetObject) template() *corev1.PodTemplateSpec { return &o.Spec.Template }
func (o daemonSetObject) template() *corev1.PodTemplateSpec   { return &o.Spec.Template }

func wrap(o runtime.Object) (object, bool) {
	switch v := o.(type) {
	case *appsv1.Deployment:
		return deploymentObject{v}, true
	case *appsv1.StatefulSet:
		return statefulSetObject{v}, true
	case *appsv1.DaemonSet:
		return daemonSetObject{v}, true
	}
	return nil, false
}

// kindClient is the three calls the executor makes, for one kind.
type kindClient struct {
	get   func(ctx context.Context, ns, name string) (object, error)
	watch func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error)
	patch func(ctx context.Context, ns, name string, data []byte) (object, error)
}

func clientFor(c kubernetes.Interface, k Kind) kindClient {
	apps := c.AppsV1()
	switch k {
	case Deployment:
		return typedClient(func(ns string) namespaced[*appsv1.Deployment] { return apps.Deployments(ns) },
			func(o *appsv1.Deployment) object { return deploymentObject{o} })
	case StatefulSet:
		return typedClient(func(ns string) namespaced[*appsv1.StatefulSet] { return apps.StatefulSets(ns) },
			func(o *appsv1.StatefulSet) object { return statefulSetObject{o} })
	default:
		return typedClient(func(ns string) namespaced[*appsv1.DaemonSet] { return apps.DaemonSets(ns) },
			func(o *appsv1.DaemonSet) object { return daemonSetObject{o} })
	}
}

// namespaced is the part of a typed client-go client (DeploymentInterface,
// ...) the executor uses.
type namespaced[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

func typedClient[T any](in func(ns string) namespaced[T], wrap func(T) object) kindClient {
	opts := metav1.PatchOptions{FieldManager: "premortem-restart"}
	return kindClient{
		get: func(ctx context.Context, ns, name string) (object, error) {
			o, err := in(ns).Get(ctx, name, metav1.GetOptions{})
			return wrap(o), err
		},
		watch: func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return in(ns).Watch(ctx, o)
		},
		patch: func(ctx context.Context, ns, name string, data []byte) (object, error) {
			o, err := in(ns).Patch(ctx, name, types.MergePatchType, data, opts)
			return wrap(o), err
		},
	}
}
