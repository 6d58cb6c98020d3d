// Package namespaces checks namespace lifecycles: a deletion that does not
// finish is a deletion that will finish later, unannounced (incident 004).
package namespaces

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/snapshot"
)

// StuckTerminating is the namespace-stuck-terminating check.
var StuckTerminating = &check.Check{
	ID:        "namespace-stuck-terminating",
	Title:     "Namespace stuck Terminating",
	Category:  "deletion",
	Severity:  check.High,
	Incidents: []string{"004"},
	Reads:     []snapshot.Resource{snapshot.Namespaces},
	Optional:  []snapshot.Resource{snapshot.APIServices},
	Doc: `Finds namespaces that have been Terminating for longer than min-age and says
why, from the namespace's finalizers and the conditions the namespace
controller sets: NamespaceContentRemaining and NamespaceFinalizersRemaining
(objects or their finalizers still there), NamespaceDeletionContentFailure
(deleting contents failed) and NamespaceDeletionGroupVersionParsingFailure.

A namespace stuck Terminating has not been un-deleted: whatever blocks it
(a finalizer whose controller is gone, a webhook rejecting deletes) will
eventually let go, and the rest of the namespace goes with it. Until then
nothing new can be created in it, which breaks redeploys to the same name.

Namespaces held back only by an unavailable aggregated API
(NamespaceDeletionDiscoveryFailure, with content still remaining and the
namespace controller's own "kubernetes" finalizer) are reported by
apiservice-unavailable instead, when that check can name the API; if
something else blocks them too (a finalizer on the namespace or its
content), they are reported here as well. A namespace Terminating with no
condition at all usually means the namespace controller
(kube-controller-manager) is not running. Severity is medium, high once the
namespace has been Terminating longer than high-age.`,
	Remediation: `Read the conditions in the evidence. For remaining content, find it with
kubectl api-resources --verbs=list --namespaced -o name | xargs -n1 kubectl get -n <ns> --ignore-not-found
and fix the controller that owns the blocking finalizer (or, once you are sure
it is gone for good, remove that finalizer). If the deletion was a mistake,
back up what the namespace still contains now: it will be deleted.`,
	Params: []check.Param{
		{Name: "min-age", Type: check.Duration, Default: "10m",
			Doc: "Report namespaces Terminating for longer than this."},
		{Name: "high-age", Type: check.Duration, Default: "24h",
			Doc: "Raise the severity to high for namespaces Terminating longer than this."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "terminatingFor", Doc: "time since deletionTimestamp"},
		{Name: "deletionTimestamp", Doc: "when the namespace was deleted"},
		{Name: "conditions", Doc: "the namespace controller's conditions that are True: type, reason, message"},
		{Name: "specFinalizers", Doc: "spec.finalizers"},
		{Name: "metadataFinalizers", Doc: "metadata.finalizers"},
	},
	Run: runStuckTerminating,
}

// blockingConditions are the namespace conditions that explain a deletion
// that does not finish, most telling first. The first three block on their
// own; remaining content and a discovery failure are often a consequence.
var blockingConditions = []corev1.NamespaceConditionType{
	corev1.NamespaceFinalizersRemaining,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceDeletionDiscoveryFailure,
}

func independent(t corev1.NamespaceConditionType) bool {
	return t == corev1.NamespaceFinalizersRemaining || t == corev1.NamespaceDeletionContentFailure ||
		t == corev1.NamespaceDeletionGVParsingFailure
}

func runStuckTerminating(p *check.Pass) error {
	minAge, highAge := p.Duration("min-age"), p.Duration("high-age")
	// If apiservice-unavailable can name the API a discovery failure waits
	// for, the namespace is its finding, not ours, unless something else
	// blocks it too.
	apiDown := p.Has(snapshot.APIServices) && len(apiservice.UnavailableAPIServices(p.Snapshot)) > 0
	for _, ns := range check.SortedByName(p.Snapshot.Namespaces) {
		if ns.DeletionTimestamp == nil {
			continue
		}
		age := p.Now.Sub(ns.DeletionTimestamp.Time)
		if age <= minAge {
			continue
		}
		var reasons []string
		var conds []map[string]any
		blocked, discovery := false, false
		for _, t := range blockingConditions {
			for _, c := range ns.Status.Conditions {
				if c.Type != t || c.Status != corev1.ConditionTrue {
					continue
				}
				blocked = blocked || independent(t)
				discovery = discovery || t == corev1.NamespaceDeletionDiscoveryFailure
				reasons = append(reasons, fmt.Sprintf("%s: %s", c.Type, c.Message))
				conds = append(conds, map[string]any{"type": string(c.Type), "reason": c.Reason, "message": c.Message})
			}
		}
		ev := map[string]any{
			"terminatingFor":    check.FormatAge(age),
			"deletionTimestamp": check.FormatTime(ns.DeletionTimestamp.Time),
		}
		if len(conds) > 0 {
			ev["conditions"] = conds
		}
		if fs := ns.Spec.Finalizers; len(fs) > 0 {
			var names []string
			for _, f := range fs {
				names = append(names, string(f))
				// "kubernetes" is the namespace controller's own finalizer,
				// present on every namespace until its content is gone.
				blocked = blocked || f != corev1.FinalizerKubernetes
			}
			ev["specFinalizers"] = names
			if len(conds) == 0 {
				reasons = append(reasons, "spec.finalizers "+strings.Join(names, ", ")+" not removed")
			}
		}
		if fs := ns.Finalizers; len(fs) > 0 {
			blocked = true
			ev["metadataFinalizers"] = fs
			reasons = append(reasons, "metadata.finalizers "+strings.Join(fs, ", ")+" not removed")
		}
		if discovery && apiDown && !blocked {
			continue
		}
		why := strings.Join(reasons, "; ")
		short := "no condition set (is kube-controller-manager running?)"
		if len(reasons) > 0 {
			short = strings.SplitN(reasons[0], ":", 2)[0]
		} else {
			why = "the namespace controller has set no condition, which usually means kube-controller-manager is not running"
		}
		sev := check.Medium
		if age > highAge {
			sev = check.High
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Namespace %s Terminating for %s: %s", ns.Name, check.FormatAge(age), short),
			Message: fmt.Sprintf("Namespace %s was deleted %s ago and is still Terminating: %s. "+
				"Its deletion is pending, not cancelled: what it still contains will be deleted once this clears.",
				ns.Name, check.FormatAge(age), why),
			Objects:  []check.Object{{Kind: "Namespace", Name: ns.Name}},
			Evidence: ev,
		})
	}
	return nil
}
