package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// SystemWorkloadDown is the system-workload-crashlooping check.
var SystemWorkloadDown = &check.Check{
	ID:        "system-workload-crashlooping",
	Title:     "System Deployment or StatefulSet crash-looping or without ready pods",
	Category:  "availability",
	Severity:  check.Critical,
	Incidents: []string{"001", "220", "221", "222"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.Pods},
	Doc: `Reports the Deployments and StatefulSets the cluster cannot run without (in
kube-system, at a system-*-critical priority, or a known networking or DNS
component) whose pods are crash-looping or have not been ready for longer
than grace. It complements system-daemonset-unready, which covers the
per-node agents: the controllers and cluster add-ons run as Deployments.

In incident 001 calico-kube-controllers was in CrashLoopBackOff with 21
restarts ("Failed to initialize Calico datastore") before Calico went down;
in incident 220 it crash-looped after an upgrade for the same reason. In
incidents 221 and 222 every CoreDNS pod crash-looped (its loop plugin exits
when the node's resolver points back at it) and the cluster had no DNS.
A crash-looping controller stops reconciling; a crash-looping add-on stops
serving. Each finding gives the containers' last termination reason, exit
code and restart count.

Pods are the workload's own (its selector, in its namespace). Pods being
deleted or finished, and placeholders at a negative priority (cluster
overprovisioning), are ignored; a pod not ready for less than grace is a
rollout in progress. Workloads scaled to zero are left out.

Severity: critical when no pod of the workload is ready, high otherwise.`,
	Remediation: `kubectl -n <ns> logs <pod> --previous shows why the container exited;
kubectl describe pod shows probe failures and the last state. Fix the cause
(configuration, the API or datastore it cannot reach, limits it exceeds)
rather than deleting pods: a crash loop comes back.`,
	Params: []check.Param{
		{Name: "grace", Type: check.Duration, Default: "5m",
			Doc: "Ignore pods not ready for less than this (rollouts, restarts); crash-looping pods are never ignored."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the workload counts as critical"},
		{Name: "desired", Doc: "the pods the workload wants"},
		{Name: "ready", Doc: "its pods that are ready"},
		{Name: "crashLooping", Doc: "pods with a container waiting in CrashLoopBackOff"},
		{Name: "notReady", Doc: "pods not ready for longer than grace (crash-looping ones included)"},
		{Name: "pods", Doc: "up to ten of them, most restarts first: pod, node, reason, restarts, lastTermination (reason and exit code of the container's last exit)"},
	},
	Run: runSystemWorkloadDown,
}

// podTrouble is what is wrong with one pod.
type podTrouble struct {
	name, node, reason, lastTermination string
	restarts                            int32
	crashLooping                        bool
}

// trouble returns what is wrong with pod, or ok=false when it is ready, or
// not ready for less than grace (and not crash-looping).
func trouble(pod *corev1.Pod, now time.Time, grace time.Duration) (podTrouble, bool) {
	t := podTrouble{name: pod.Name, node: pod.Spec.NodeName}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		t.restarts += cs.RestartCount
		w := cs.State.Waiting
		crash := w != nil && w.Reason == "CrashLoopBackOff"
		if term := cs.LastTerminationState.Terminated; term != nil && (crash || t.lastTermination == "") {
			t.lastTermination = fmt.Sprintf("container %s: %s, exit code %d", cs.Name, cmp.Or(term.Reason, "terminated"), term.ExitCode)
		}
		if crash && !t.crashLooping {
			t.crashLooping = true
			t.reason = "container " + cs.Name + " CrashLoopBackOff"
		}
	}
	if t.crashLooping {
		return t, true
	}
	if workload.PodReady(pod) {
		return t, false
	}
	since := pod.CreationTimestamp.Time
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && !c.LastTransitionTime.IsZero() {
			since = c.LastTransitionTime.Time
		}
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			t.reason = "not scheduled: " + cmp.Or(c.Reason, "Pending")
		}
	}
	if t.reason == "" {
		t.reason = "phase " + string(pod.Status.Phase) + ", not ready"
		for _, cs := range pod.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				t.reason = "container " + cs.Name + " " + w.Reason
				break
			}
		}
	}
	return t, now.Sub(since) >= grace
}

// podsByNamespace indexes the pods that count in the namespaces asked
// about (a large cluster's critical workloads live in a few): not being
// deleted, not finished, and not placeholders at a negative priority
// (cluster overprovisioning pods wait to be preempted and Pending by
// design).
func podsByNamespace(pods []corev1.Pod, namespaces map[string]bool) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		if !namespaces[p.Namespace] {
			continue
		}
		placeholder := p.Spec.Priority != nil && *p.Spec.Priority < 0
		if placeholder || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out[p.Namespace] = append(out[p.Namespace], p)
	}
	return out
}

// selected returns the pods in ns that sel selects; none for an empty or
// invalid selector.
func selected(byNS map[string][]*corev1.Pod, ns string, sel *metav1.LabelSelector) []*corev1.Pod {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range byNS[ns] {
		if s.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

func runSystemWorkloadDown(p *check.Pass) error {
	// DaemonSets are system-daemonset-unready's.
	ws := slices.DeleteFunc(workload.All(p.Snapshot), func(w workload.Workload) bool {
		return w.Kind == workload.DaemonSet || w.Counts.Desired == 0 || !w.Classify().Critical()
	})
	namespaces := map[string]bool{}
	for _, w := range ws {
		namespaces[w.Meta.Namespace] = true
	}
	byNS := podsByNamespace(p.Snapshot.Pods, namespaces)
	grace := p.Duration("grace")
	for _, w := range ws {
		var bad []podTrouble
		crash, ready := 0, 0
		for _, pod := range selected(byNS, w.Meta.Namespace, w.Selector) {
			if workload.PodReady(pod) {
				ready++
			}
			if t, ok := trouble(pod, p.Now, grace); ok {
				bad = append(bad, t)
				if t.crashLooping {
					crash++
				}
			}
		}
		if len(bad) == 0 {
			continue
		}
		slices.SortFunc(bad, func(a, b podTrouble) int {
			return cmp.Or(cmp.Compare(b.restarts, a.restarts), strings.Compare(a.name, b.name))
		})
		name := w.Meta.Namespace + "/" + w.Meta.Name
		objects := []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}}
		var pods []map[string]any
		for _, t := range check.First(bad, 10) {
			objects = append(objects, check.Object{Kind: "Pod", Namespace: w.Meta.Namespace, Name: t.name})
			e := map[string]any{"pod": t.name, "node": t.node, "reason": t.reason, "restarts": t.restarts}
			if t.lastTermination != "" {
				e["lastTermination"] = t.lastTermination
			}
			pods = append(pods, e)
		}
		worst := bad[0]
		how := fmt.Sprintf("%d pod(s) not ready", len(bad))
		if crash > 0 {
			how = fmt.Sprintf("%d pod(s) crash-looping", crash)
		}
		sev, state := check.High, fmt.Sprintf("%d of %d pods are still ready", ready, w.Counts.Desired)
		if ready == 0 {
			sev, state = check.Critical, fmt.Sprintf("none of its %d pods is ready: the component is down", w.Counts.Desired)
		}
		last := ""
		if worst.lastTermination != "" {
			last = fmt.Sprintf(" Last exit of pod %s: %s, after %d restarts.", worst.name, worst.lastTermination, worst.restarts)
		}
		crit := w.Classify()
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("%s %s: %s (%d/%d ready)", w.Kind, name, how, ready, w.Counts.Desired),
			Message: fmt.Sprintf("%s %s is critical (%s) and %s; %s. A crash-looping controller stops reconciling and a "+
				"crash-looping add-on stops serving (incidents 001, 220, 221).%s", w.Kind, name, strings.Join(crit.Reasons, ", "),
				how, state, last),
			Objects: objects,
			Evidence: map[string]any{"criticalBecause": crit.Reasons, "desired": w.Counts.Desired, "ready": ready,
				"crashLooping": crash, "notReady": len(bad), "pods": pods},
		})
	}
	return nil
}
