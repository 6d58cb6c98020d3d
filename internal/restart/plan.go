package restart

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// Annotations premortem writes, both in the one PATCH that restarts a
// workload, so a workload is either untouched or restarted and marked.
const (
	// RestartedAtAnnotation goes on the pod template, as kubectl rollout
	// restart does: changing it is what makes the controller roll the pods.
	RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
	// RunAnnotation goes on the workload's own metadata (not the template,
	// which would roll the pods again): the run that restarted it. A re-run
	// with the same run ID skips workloads that carry it.
	RunAnnotation = "premortem.dev/restart-run"
)

// Action is what a plan does with a workload.
type Action string

const (
	// ActionRestart: patch the restart annotation, then wait for the rollout.
	ActionRestart Action = "restart"
	// ActionWait: this run already patched it (an earlier, interrupted
	// invocation) and its rollout is unfinished: wait, never patch again.
	ActionWait Action = "wait"
	// ActionDone: this run already restarted it and its rollout finished.
	ActionDone Action = "done"
	// ActionSkip: a gate holds it back; --force ID overrides.
	ActionSkip Action = "skip"
	// ActionNone: there is nothing a rollout restart can do (no replicas,
	// an OnDelete strategy, a partitioned StatefulSet rollout).
	ActionNone Action = "none"
)

// Phases of a plan.
const (
	PhaseApplication = "application"
	PhaseCritical    = "critical"
)

// Gate IDs: each holds a workload back unless --force names it.
const (
	GateSingleReplica   = "single-replica-critical"
	GatePDB             = "pdb-no-disruption"
	GateImageMissing    = "image-missing"
	GateNoNode          = "no-schedulable-node"
	GateNotAvailable    = "not-available"
	GatePaused          = "paused"
	GateDependencyReady = "dependency-not-ready"
)

// Options select what a plan covers.
type Options struct {
	// RunID marks the workloads this run restarts; workloads already
	// carrying it are done (or waited for), never restarted again.
	RunID string
	// Namespace limits the plan to one namespace; "" is every namespace.
	Namespace string
	// Selector filters workloads by their own labels; nil selects all.
	Selector labels.Selector
	// Kinds limits the kinds; empty means all three.
	Kinds []Kind
	// Concurrency is how many application workloads restart at once.
	Concurrency int
	// Force lets these workloads through their gates.
	Force []Ref
	// Prepull: pull a critical Deployment's or StatefulSet's images onto
	// every node its pods may land on before restarting it (prepull.go).
	// A missing image is then no gate: the pre-pull puts it there.
	Prepull bool
}

// Plan is the ordered list of what a restart does. Its JSON form is the
// documented -o json output (docs/restart.md).
type Plan struct {
	RunID       string `json:"runId"`
	Namespace   string `json:"namespace,omitempty"`
	Selector    string `json:"selector,omitempty"`
	Kinds       []Kind `json:"kinds"`
	Concurrency int    `json:"concurrency"`
	// Waves is the number of execution waves: application waves of up to
	// Concurrency workloads, then one wave per critical workload.
	Waves  int    `json:"waves"`
	Counts Counts `json:"counts"`
	// Steps are in execution order: application workloads, then critical.
	Steps []Step `json:"steps"`
	// OtherRuns are earlier run IDs found on workloads in scope: pass one
	// as --run-id to resume that run instead of starting a new one.
	OtherRuns []RunSeen `json:"otherRuns,omitempty"`
	// Notes are plan-wide caveats (what could not be checked).
	Notes []string `json:"notes,omitempty"`
	// BGPWindow is Calico's BGP graceful-restart window, when Calico's BGP
	// kinds are served (window.go).
	BGPWindow *BGPWindow `json:"bgpWindow,omitempty"`
	// Prepull: --prepull was given.
	Prepull bool `json:"prepull,omitempty"`
	// PrepullLeftovers are pre-pull DaemonSets interrupted runs left.
	PrepullLeftovers []PrepullLeftover `json:"prepullLeftovers,omitempty"`
}

// Counts sums the steps by action.
type Counts struct {
	Restart int `json:"restart"`
	Wait    int `json:"wait"`
	Done    int `json:"done"`
	Skip    int `json:"skip"`
	None    int `json:"none"`
}

// RunSeen is an earlier run found in the cluster.
type RunSeen struct {
	RunID     string `json:"runId"`
	Workloads int    `json:"workloads"`
}

// Step is one workload in the plan.
type Step struct {
	Ref
	ID    string `json:"id"`
	Phase string `json:"phase"`
	// Wave is the 1-based execution wave; 0 for steps that do not run.
	Wave   int    `json:"wave,omitempty"`
	Action Action `json:"action"`
	// Reason explains done, wait and none actions.
	Reason string `json:"reason,omitempty"`
	// Critical says why the workload is critical; empty for applications.
	Critical  []string          `json:"critical,omitempty"`
	Component string            `json:"component,omitempty"`
	Replicas  int32             `json:"replicas"`
	Progress  workload.Progress `json:"progress"`
	// After are workloads that must be fully rolled out and ready before
	// this one is patched (known server/client dependencies).
	After    []string `json:"after,omitempty"`
	Gates    []Gate   `json:"gates,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Prepull is the pre-pull done before the restart (--prepull).
	Prepull *Prepull `json:"prepull,omitempty"`
	// BGPWindowSeconds, on typha and calico-node: each wait of the step
	// must see progress within it, or the run stops (window.go).
	BGPWindowSeconds int64 `json:"bgpWindowSeconds,omitempty"`
}

// Gate is one reason to hold a workload back.
type Gate struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	// Forced: --force named the workload, so the gate is noted, not applied.
	Forced bool `json:"forced,omitempty"`
}

// Runs reports whether the executor acts on the step.
func (s *Step) Runs() bool { return s.Action == ActionRestart || s.Action == ActionWait }

// forcedPast reports whether the step was forced past gate id.
func (s *Step) forcedPast(id string) bool {
	for _, g := range s.Gates {
		if g.ID == id && g.Forced {
			return true
		}
	}
	return false
}

// candidate is a workload in scope with what the planner worked out.
type candidate struct {
	w     *target
	class classification
	step  Step
}

// NewPlan plans a restart of the workloads in snap selected by opts. It is a
// pure function: same snapshot and options, same plan.
func NewPlan(snap *snapshot.Snapshot, opts Options) (*Plan, error) {
	if opts.RunID == "" {
		return nil, fmt.Errorf("plan: empty run ID")
	}
	if opts.Concurrency < 1 {
		return nil, fmt.Errorf("plan: concurrency %d: want at least 1", opts.Concurrency)
	}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = Kinds
	}
	wantKind := map[Kind]bool{}
	for _, k := range kinds {
		wantKind[k] = true
	}
	force := map[string]bool{}
	for _, r := range opts.Force {
		force[r.String()] = true
	}

	// Every workload read, in or out of scope: dependency peers are checked
	// even when the selection leaves them out.
	all := make([]target, 0, len(snap.Deployments)+len(snap.StatefulSets)+len(snap.DaemonSets))
	for i := range snap.Deployments {
		all = append(all, newTarget(Deployment, workload.FromDeployment(&snap.Deployments[i])))
	}
	for i := range snap.StatefulSets {
		all = append(all, newTarget(StatefulSet, workload.FromStatefulSet(&snap.StatefulSets[i])))
	}
	var leftovers []PrepullLeftover
	for i := range snap.DaemonSets {
		ds := &snap.DaemonSets[i]
		if isPrepull(ds) {
			leftovers = append(leftovers, PrepullLeftover{Namespace: ds.Namespace, Name: ds.Name,
				RunID: ds.Annotations[PrepullRunAnnotation], For: ds.Annotations[PrepullForAnnotation]})
			continue
		}
		all = append(all, newTarget(DaemonSet, workload.FromDaemonSet(ds)))
	}

	byComponent := map[string][]*target{}
	classes := make([]classification, len(all))
	for i := range all {
		classes[i] = classify(&all[i])
		if c := classes[i].Component.Name; c != "" {
			byComponent[c] = append(byComponent[c], &all[i])
		}
	}

	p := &Plan{RunID: opts.RunID, Namespace: opts.Namespace, Kinds: kinds, Concurrency: opts.Concurrency,
		Prepull: opts.Prepull, PrepullLeftovers: leftovers}
	if opts.Selector != nil && !opts.Selector.Empty() {
		p.Selector = opts.Selector.String()
	}
	_, nodesSkipped := snap.Info.SkipReason(snapshot.Nodes)
	nodesRead := !nodesSkipped && len(snap.Nodes) > 0
	if !nodesRead {
		p.Notes = append(p.Notes, "nodes were not read: image presence and schedulability not checked")
	}
	if _, skipped := snap.Info.SkipReason(snapshot.PodDisruptionBudgets); skipped {
		p.Notes = append(p.Notes, "PodDisruptionBudgets were not read: the PDB gate was not checked")
	}
	images := newImageIndex(snap.Nodes)
	pdbs := pdbsByNamespace(snap.PodDisruptionBudgets)
	win, winNotes := bgpWindow(snap)
	p.BGPWindow = win
	p.Notes = append(p.Notes, winNotes...)

	var cands []*candidate
	inScope := map[string]bool{}
	otherRuns := map[string]int{}
	for i := range all {
		w := &all[i]
		if !wantKind[w.ref.Kind] || (opts.Namespace != "" && w.ref.Namespace != opts.Namespace) {
			continue
		}
		if opts.Selector != nil && !opts.Selector.Matches(labels.Set(w.Meta.Labels)) {
			continue
		}
		id := w.ref.String()
		inScope[id] = true
		class := classes[i]
		s := Step{Ref: w.ref, ID: id, Phase: PhaseApplication, Replicas: w.Counts.Desired, Progress: w.Progress, Component: class.Component.Name}
		if class.Critical() {
			s.Phase, s.Critical = PhaseCritical, class.Reasons
		}
		for _, dep := range dependencies {
			peer := ""
			switch class.Component.Name {
			case dep.server:
				peer = dep.client
			case dep.client:
				peer = dep.server
			}
			for _, pw := range byComponent[peer] {
				s.After = append(s.After, pw.ref.String())
				if !pw.Progress.Complete && pw.Meta.Annotations[RunAnnotation] != opts.RunID {
					s.Gates = append(s.Gates, Gate{ID: GateDependencyReady, Message: fmt.Sprintf(
						"%s (%s) is not fully ready (%s): restarting %s now is what took the pod network down in incident 003",
						pw.ref, peer, pw.Progress.Detail, class.Component.Name)})
				}
			}
		}
		// On typha and calico-node the BGP window bounds each wait (window.go).
		windowed := win != nil && slices.Contains(windowRoles, class.Component.Role)
		run := w.Meta.Annotations[RunAnnotation]
		switch {
		case run == opts.RunID && w.Paused:
			s.Action, s.Reason, s.Gates = ActionDone, "restarted by this run; paused, so its pods roll when it is resumed", nil
		case run == opts.RunID && w.Progress.Complete:
			s.Action, s.Reason, s.Gates = ActionDone, "restarted by this run; rollout complete", nil
		case run == opts.RunID:
			s.Action, s.Reason, s.Gates = ActionWait, "restarted by this run; rollout unfinished ("+w.Progress.Detail+")", nil
		case w.Counts.Desired == 0:
			s.Action, s.Reason, s.Gates = ActionNone, "no pods to restart (0 replicas desired)", nil
		case w.OnDelete:
			s.Action, s.Reason, s.Gates = ActionNone, "updateStrategy OnDelete: patching the template replaces no pod, and premortem never deletes pods", nil
		case w.Partition > 0:
			s.Action, s.Reason, s.Gates = ActionNone, fmt.Sprintf("rollingUpdate.partition %d: a staged rollout is under way; finish it first", w.Partition), nil
		default:
			prepull := opts.Prepull && class.Critical() && w.ref.Kind != DaemonSet
			s.Gates = append(s.Gates, gates(w, class, images, nodesRead, pdbs, prepull)...)
			s.Warnings = append(s.Warnings, warnings(w, class, images, nodesRead, prepull)...)
			if windowed {
				s.Warnings = append(s.Warnings, windowWarnings(w, win, images, nodesRead, prepull)...)
			}
			s.Action = ActionRestart
			for i := range s.Gates {
				if force[id] {
					s.Gates[i].Forced = true
				} else {
					s.Action = ActionSkip
				}
			}
			if prepull && s.Action == ActionRestart {
				s.Prepull = &Prepull{DaemonSet: prepullName(opts.RunID, id), Images: templateImages(w.Template)}
				if nodesRead {
					s.Prepull.Nodes = images.candidateNodes(w.Template, false).count()
				}
			}
		}
		if windowed {
			s.BGPWindowSeconds = win.Seconds
		}
		if run != "" && run != opts.RunID {
			otherRuns[run]++
		}
		cands = append(cands, &candidate{w: w, class: class, step: s})
	}
	for id := range force {
		if !inScope[id] {
			return nil, fmt.Errorf("forced %s: no such workload in scope", id)
		}
	}

	// Application workloads in namespace/kind/name order; critical ones by
	// tier (servers before clients), then namespace/kind/name.
	kindOrder := func(k Kind) int { return slices.Index(Kinds, k) }
	slices.SortFunc(cands, func(a, b *candidate) int {
		ac, bc := a.class.Critical(), b.class.Critical()
		if ac != bc {
			if ac {
				return 1
			}
			return -1
		}
		if ac {
			if c := cmp.Compare(a.class.tier, b.class.tier); c != 0 {
				return c
			}
		}
		return cmp.Or(
			cmp.Compare(a.w.ref.Namespace, b.w.ref.Namespace),
			cmp.Compare(kindOrder(a.w.ref.Kind), kindOrder(b.w.ref.Kind)),
			cmp.Compare(a.w.ref.Name, b.w.ref.Name))
	})

	wave, inWave := 0, 0
	p.Steps = make([]Step, 0, len(cands))
	for _, c := range cands {
		s := &c.step
		switch s.Action {
		case ActionRestart:
			p.Counts.Restart++
		case ActionWait:
			p.Counts.Wait++
		case ActionDone:
			p.Counts.Done++
		case ActionSkip:
			p.Counts.Skip++
		case ActionNone:
			p.Counts.None++
		}
		if !s.Runs() {
			p.Steps = append(p.Steps, *s)
			continue
		}
		if s.Phase == PhaseCritical || inWave == 0 || inWave == opts.Concurrency {
			wave++
			inWave = 0
		}
		if s.Phase == PhaseCritical {
			inWave = opts.Concurrency // a critical workload is a wave of its own
		} else {
			inWave++
		}
		s.Wave = wave
		p.Steps = append(p.Steps, *s)
	}
	p.Waves = wave
	for id, n := range otherRuns {
		p.OtherRuns = append(p.OtherRuns, RunSeen{RunID: id, Workloads: n})
	}
	slices.SortFunc(p.OtherRuns, func(a, b RunSeen) int { return cmp.Compare(b.RunID, a.RunID) })
	return p, nil
}

// gates returns every gate that holds w back.
func gates(w *target, class classification, images *imageIndex, nodesRead bool, pdbs map[string][]pdbSelector, prepull bool) []Gate {
	var out []Gate
	if w.Paused {
		out = append(out, Gate{ID: GatePaused, Message: "spec.paused: the controller would not roll it; resume it or leave it out"})
	}
	if !w.Progress.Complete {
		out = append(out, Gate{ID: GateNotAvailable, Message: "not fully available before the restart (" + w.Progress.Detail + "): a restart would stack on an existing failure"})
	}
	if class.Critical() && w.ref.Kind != DaemonSet && w.Counts.Desired == 1 {
		out = append(out, Gate{ID: GateSingleReplica, Message: "critical workload with 1 replica: while its only pod is replaced nothing serves, and the new pod may land on a node without its image (incident 003); run 2 or more replicas"})
	}
	podLabels := labels.Set(w.Template.Labels)
	for _, pdb := range pdbs[w.ref.Namespace] {
		if pdb.disruptionsAllowed == 0 && pdb.selector.Matches(podLabels) {
			out = append(out, Gate{ID: GatePDB, Message: fmt.Sprintf("PodDisruptionBudget %s/%s allows no disruption now (%d healthy, %d desired healthy): its owner says no pod may go",
				w.ref.Namespace, pdb.name, pdb.currentHealthy, pdb.desiredHealthy)})
		}
	}
	// A fully rolled-out DaemonSet runs on every node it can be scheduled
	// to, and its new pods replace old ones in place with the same image:
	// its images are already on every node that matters.
	if nodesRead && w.ref.Kind != DaemonSet {
		cands := images.candidateNodes(w.Template, false)
		if cands.count() == 0 {
			out = append(out, Gate{ID: GateNoNode, Message: "no node matches its node selector, required node affinity and tolerations (or all are cordoned): new pods would stay Pending"})
		} else if class.Critical() && !prepull {
			for _, img := range templateImages(w.Template) {
				if a := images.lookup(cands, img); a.missing > 0 {
					out = append(out, Gate{ID: GateImageMissing, Message: imageMessage(img, a)})
				}
			}
		}
	}
	return out
}

// warnings are worth reading but hold nothing back. prepull: the images
// are pulled onto the candidate nodes before the restart.
func warnings(w *target, class classification, images *imageIndex, nodesRead, prepull bool) []string {
	if !nodesRead || w.ref.Kind == DaemonSet {
		return nil
	}
	cands := images.candidateNodes(w.Template, false)
	if cands.count() == 0 {
		return nil
	}
	var out []string
	for _, img := range templateImages(w.Template) {
		a := images.lookup(cands, img)
		// For an application the rollout's own surge and readiness checks
		// absorb a slow pull: a missing image is worth knowing, not a gate.
		if a.missing > 0 && !class.Critical() {
			out = append(out, imageMessage(img, a))
		}
		if a.missing > 0 && prepull {
			out = append(out, fmt.Sprintf("image %s is not on %d of %d nodes it can be scheduled to: --prepull pulls it there before the restart", img, a.missing, a.candidates))
		}
		if a.unknown > 0 {
			out = append(out, fmt.Sprintf("image %s is not listed by %d of %d nodes it can be scheduled to, whose image lists are empty or full (the kubelet reports at most %d): it may be absent there",
				img, a.unknown, a.candidates, NodeStatusMaxImages))
		}
	}
	return out
}

func imageMessage(img string, a imageAnswer) string {
	more := ""
	if a.missing > len(a.examples) {
		more = fmt.Sprintf(" and %d more", a.missing-len(a.examples))
	}
	return fmt.Sprintf("image %s is not on %d of %d nodes it can be scheduled to (%s%s): a new pod there waits for a pull before it can serve (incident 003)",
		img, a.missing, a.candidates, strings.Join(a.examples, ", "), more)
}

type pdbSelector struct {
	name                           string
	selector                       labels.Selector
	disruptionsAllowed             int32
	currentHealthy, desiredHealthy int32
}

// pdbsByNamespace parses each PDB's selector once. A nil selector selects
// nothing and an empty one everything (policy/v1 semantics); an invalid one
// is dropped (the API server rejects those).
func pdbsByNamespace(pdbs []policyv1.PodDisruptionBudget) map[string][]pdbSelector {
	out := map[string][]pdbSelector{}
	for i := range pdbs {
		pdb := &pdbs[i]
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			continue
		}
		out[pdb.Namespace] = append(out[pdb.Namespace], pdbSelector{
			name: pdb.Name, selector: sel, disruptionsAllowed: pdb.Status.DisruptionsAllowed,
			currentHealthy: pdb.Status.CurrentHealthy, desiredHealthy: pdb.Status.DesiredHealthy,
		})
	}
	return out
}
