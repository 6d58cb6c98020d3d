package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CriticalOutranked is the critical-workload-outranked check.
var CriticalOutranked = &check.Check{
	ID:        "critical-workload-outranked",
	Title:     "Critical workload ranked below a priority class ordinary pods use",
	Category:  "scheduling",
	Severity:  check.High,
	Incidents: []string{"161", "227"},
	Reads: []snapshot.Resource{snapshot.PriorityClasses, snapshot.Deployments, snapshot.StatefulSets,
		snapshot.DaemonSets},
	Doc: `Reports the workloads the cluster cannot run without (in kube-system, at a
system-*-critical priority, or a known networking or DNS component) whose
priority class ranks below a class that may preempt them: the
globalDefault class, which every pod without a priorityClassName gets, or
a class that ordinary (non-critical) workloads use, with preemption
policy PreemptLowerPriority. When nodes run short, the scheduler makes
room for those pods by evicting the critical ones; under node pressure
the kubelet, among pods using more than they request, evicts lower
priorities first.

In incident 161 pod priorities decided which pods were preempted during a
rollout and took production down; in incident 227 user pods with a
priority above kube-proxy's had kube-proxy evicted again and again.
Critical workloads with no priority class at all are
critical-workload-no-priority's.

Severity: high when the outranking class is the globalDefault (every pod
without a class may preempt the workload), medium otherwise.`,
	Remediation: `Give the critical workload system-cluster-critical or system-node-critical
(or a class above every application class), and keep application classes,
the globalDefault above all, well below it; a class meant only to order
the scheduling queue can set preemptionPolicy: Never.`,
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the workload counts as critical"},
		{Name: "priorityClassName", Doc: "the workload's priority class"},
		{Name: "priority", Doc: "that class's value"},
		{Name: "outrankedBy", Doc: "the classes that may preempt it: class, value, globalDefault, and up to three workloads using it"},
	},
	Run: runCriticalOutranked,
}

// systemPriorities are the built-in classes' values, for a snapshot that
// lists no PriorityClasses of its own for them.
var systemPriorities = map[string]int32{"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}

// outranker is a class that may preempt a lower-priority workload.
type outranker struct {
	class         *schedulingv1.PriorityClass
	globalDefault bool
	usedBy        []string // "Kind ns/name" of non-critical workloads
}

func preempts(pc *schedulingv1.PriorityClass) bool {
	return pc.PreemptionPolicy == nil || *pc.PreemptionPolicy == corev1.PreemptLowerPriority
}

func runCriticalOutranked(p *check.Pass) error {
	classes := map[string]*schedulingv1.PriorityClass{}
	values := map[string]int32{}
	for k, v := range systemPriorities {
		values[k] = v
	}
	for i := range p.Snapshot.PriorityClasses {
		pc := &p.Snapshot.PriorityClasses[i]
		classes[pc.Name] = pc
		values[pc.Name] = pc.Value
	}
	ws := workload.All(p.Snapshot)
	// The classes that may preempt: the globalDefault, and those ordinary
	// workloads use.
	out := map[string]*outranker{}
	for _, pc := range classes {
		if pc.GlobalDefault && preempts(pc) {
			out[pc.Name] = &outranker{class: pc, globalDefault: true}
		}
	}
	var critical []workload.Workload
	for _, w := range ws {
		if w.Classify().Critical() {
			critical = append(critical, w)
			continue
		}
		pc := classes[w.Template.Spec.PriorityClassName]
		if pc == nil || !preempts(pc) {
			continue
		}
		o := out[pc.Name]
		if o == nil {
			o = &outranker{class: pc}
			out[pc.Name] = o
		}
		o.usedBy = append(o.usedBy, fmt.Sprintf("%s %s/%s", w.Kind, w.Meta.Namespace, w.Meta.Name))
	}
	for _, w := range critical {
		name := w.Template.Spec.PriorityClassName
		value, known := values[name]
		if name == "" || !known || w.Counts.Desired == 0 {
			continue // no class: critical-workload-no-priority's; an unknown class: pods cannot be created
		}
		var above []*outranker
		for _, o := range out {
			if o.class.Value > value {
				above = append(above, o)
			}
		}
		if len(above) == 0 {
			continue
		}
		slices.SortFunc(above, func(a, b *outranker) int {
			return cmp.Or(cmp.Compare(b.class.Value, a.class.Value), strings.Compare(a.class.Name, b.class.Name))
		})
		sev := check.Medium
		var ev []map[string]any
		var names []string
		for _, o := range above {
			e := map[string]any{"class": o.class.Name, "value": o.class.Value, "globalDefault": o.globalDefault}
			if len(o.usedBy) > 0 {
				e["usedBy"] = check.First(o.usedBy, 3)
			}
			if o.globalDefault {
				sev = check.High
				names = append(names, fmt.Sprintf("%s (%d, the globalDefault: every pod without a class)", o.class.Name, o.class.Value))
			} else {
				names = append(names, fmt.Sprintf("%s (%d, used by %s)", o.class.Name, o.class.Value, strings.Join(check.First(o.usedBy, 3), ", ")))
			}
			ev = append(ev, e)
		}
		crit := w.Classify()
		wname := w.Meta.Namespace + "/" + w.Meta.Name
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s %s: priority %s (%d) below %s", w.Kind, wname, name, value, above[0].class.Name),
			Message: fmt.Sprintf("%s %s is critical (%s) but runs at priority class %s (%d), below %s. When nodes run short the "+
				"scheduler preempts it to place those pods, and under node pressure the kubelet ranks it below them (incidents 161, 227).",
				w.Kind, wname, strings.Join(crit.Reasons, ", "), name, value, strings.Join(names, "; ")),
			Objects: []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: map[string]any{"criticalBecause": crit.Reasons, "priorityClassName": name, "priority": value,
				"outrankedBy": ev},
		})
	}
	return nil
}
