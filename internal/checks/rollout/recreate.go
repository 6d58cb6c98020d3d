package rollout

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CriticalRecreate is the critical-deployment-recreate check.
var CriticalRecreate = &check.Check{
	ID:        "critical-deployment-recreate",
	Title:     "Critical Deployment updated with strategy Recreate",
	Category:  "rollout",
	Severity:  check.Medium,
	Incidents: []string{"228", "229"},
	Reads:     []snapshot.Resource{snapshot.Deployments},
	Doc: `Reports the Deployments the cluster cannot run without (in kube-system, at a
system-*-critical priority, or a known networking or DNS component) whose
update strategy is Recreate: every change to the pod template, an image
bump or a restart (kubectl rollout restart) first stops all its pods and
only then starts new ones. However many replicas it has, the component is
down for as long as the new pods take to be scheduled, pulled and ready,
and down for good if they cannot start.

In incident 228 an operator's admission webhook Deployment used Recreate
and every update interrupted pod creation; in incident 229 each deploy of
an API with Recreate was a 60-90 second outage.

Severity: medium (the outage waits for the next rollout).`,
	Remediation: `Use strategy RollingUpdate (maxUnavailable 0 and maxSurge 1 keeps every
replica serving). If Recreate is there because pods share a
ReadWriteOnce volume or a host port, move that state out or accept the
outage knowingly during a maintenance window.`,
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the Deployment counts as critical"},
		{Name: "replicas", Doc: "spec.replicas"},
	},
	Run: runCriticalRecreate,
}

func runCriticalRecreate(p *check.Pass) error {
	var recreate []appsv1.Deployment
	for i := range p.Snapshot.Deployments {
		if d := &p.Snapshot.Deployments[i]; d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			recreate = append(recreate, *d)
		}
	}
	for _, d := range check.SortedByName(recreate) {
		w := workload.FromDeployment(&d)
		crit := w.Classify()
		if !crit.Critical() || w.Counts.Desired == 0 {
			continue
		}
		name := d.Namespace + "/" + d.Name
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("Deployment %s: critical, updated with strategy Recreate", name),
			Message: fmt.Sprintf("Deployment %s is critical (%s) and uses strategy Recreate: its next rollout stops all %d "+
				"replica(s) before starting any new one, so the component is down until the new pods are ready "+
				"(incidents 228, 229).", name, strings.Join(crit.Reasons, ", "), w.Counts.Desired),
			Objects:  []check.Object{{Group: "apps", Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}},
			Evidence: map[string]any{"criticalBecause": crit.Reasons, "replicas": w.Counts.Desired},
		})
	}
	return nil
}
