package capacity

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// RolloutStuck is the rollout-progress-deadline-exceeded check.
var RolloutStuck = &check.Check{
	ID:        "rollout-progress-deadline-exceeded",
	Title:     "Deployment rollout stuck past its progress deadline",
	Category:  "capacity",
	Severity:  check.High,
	Incidents: []string{"171", "172"},
	Reads:     []snapshot.Resource{snapshot.Deployments},
	Doc: `Reports Deployments whose Progressing condition is False with reason
ProgressDeadlineExceeded: the controller has made no progress for
progressDeadlineSeconds (default 10 minutes). The new pods cannot be created
(quota), scheduled (capacity), pulled, or made ready; Kubernetes does not roll
back by itself, so the Deployment stays half old, half new, and a rollout
with maxUnavailable above 0 runs short of replicas until someone acts.

In incidents 171 and 172 rollouts stopped because the namespace quota had
no room for the new pods. Paused Deployments and rollouts still making
progress are left out.

Severity: high when fewer replicas are available than the Deployment wants,
medium otherwise.`,
	Remediation: `kubectl rollout status and kubectl describe deployment (and its newest
ReplicaSet's events) show what the new pods wait for. Fix the cause (quota,
capacity, image, configuration), or roll back with kubectl rollout undo.`,
	Evidence: []check.EvidenceKey{
		{Name: "replicas", Doc: "spec.replicas"},
		{Name: "updatedReplicas", Doc: "status.updatedReplicas"},
		{Name: "availableReplicas", Doc: "status.availableReplicas"},
		{Name: "message", Doc: "the Progressing condition's message"},
		{Name: "since", Doc: "when the condition last changed (RFC 3339)"},
	},
	Run: runRolloutStuck,
}

// deadlineExceeded reports whether d's Progressing condition says so: a
// cheap test before the full progress report.
func deadlineExceeded(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

func runRolloutStuck(p *check.Pass) error {
	// Filter before sorting: a cluster has thousands of Deployments and,
	// at any time, a handful of stuck rollouts.
	var stuck []appsv1.Deployment
	for i := range p.Snapshot.Deployments {
		if d := &p.Snapshot.Deployments[i]; !d.Spec.Paused && deadlineExceeded(d) && workload.DeploymentProgress(d).Failed {
			stuck = append(stuck, *d)
		}
	}
	for _, d := range check.SortedByName(stuck) {
		c := workload.DeploymentCounts(&d)
		ev := map[string]any{"replicas": c.Desired, "updatedReplicas": c.Updated, "availableReplicas": c.Available}
		msg := ""
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing {
				msg = cond.Message
				ev["message"] = cond.Message
				if !cond.LastTransitionTime.IsZero() {
					ev["since"] = check.FormatTime(cond.LastTransitionTime.Time)
				}
			}
		}
		sev, short := check.Medium, ""
		if c.Available < c.Desired {
			sev = check.High
			short = fmt.Sprintf(" Only %d of %d replicas are available meanwhile.", c.Available, c.Desired)
		}
		name := d.Namespace + "/" + d.Name
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Deployment %s: rollout stuck (%d/%d updated)", name, c.Updated, c.Desired),
			Message: fmt.Sprintf("Deployment %s exceeded its progress deadline: %s. Kubernetes does not roll back by itself; the "+
				"Deployment stays between two versions until someone acts (incidents 171, 172).%s", name, msg, short),
			Objects:  []check.Object{{Group: "apps", Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}},
			Evidence: ev,
		})
	}
	return nil
}
