package rollout

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CriticalRecreate is the critical-deployment-recreate check.
var CriticalRecreate = &check.Check{
	ID:        "critical-deployment-recreate",
	Title:     "Critical Deployment whose rollout stops every replica at once (Recreate)",
	Category:  "rollout",
	Severity:  check.Medium,
	Incidents: []string{"228", "229"},
	Reads:     []snapshot.Resource{snapshot.Deployments},
	Doc: `Reports the Deployments the cluster cannot run without (in kube-system, at a
system-*-critical priority, or a known networking or DNS component), with
two replicas or more, whose update strategy is Recreate, or a RollingUpdate whose maxUnavailable covers
every replica (Recreate in effect): every change to the pod template, an
image bump or a restart (kubectl rollout restart) may stop all its pods
before new ones are ready. However many replicas it has, the component is
down for as long as the new pods take to be scheduled, pulled and ready,
and down for good if they cannot start. A single replica is down in any
rollout (critical-single-replica reports it), so one-replica controllers
that use Recreate to never run twice (calico-kube-controllers) are left
out.

In incident 228 an operator's admission webhook Deployment used Recreate
and every update interrupted pod creation; in incident 229 each deploy of
an API with Recreate was a 60-90 second outage.

Severity: medium (the outage waits for the next rollout).`,
	Remediation: `Use strategy RollingUpdate with a maxUnavailable below the replica count
(maxUnavailable 0 and maxSurge 1 keeps every replica serving). If Recreate
is there because pods share a ReadWriteOnce volume or a host port, move that
state out or accept the outage knowingly during a maintenance window.`,
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the Deployment counts as critical"},
		{Name: "replicas", Doc: "spec.replicas"},
		{Name: "strategy", Doc: "spec.strategy.type"},
		{Name: "maxUnavailable", Doc: "spec.strategy.rollingUpdate.maxUnavailable, for a RollingUpdate"},
	},
	Run: runCriticalRecreate,
}

// stopsAll reports whether a rollout of d may stop every replica before a
// new one is ready, and the maxUnavailable that allows it (RollingUpdate).
func stopsAll(d *appsv1.Deployment) (bool, string) {
	s := d.Spec.Strategy
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return true, ""
	case appsv1.RollingUpdateDeploymentStrategyType, "":
		if s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil {
			return false, "" // the default, 25%, rounded down
		}
		replicas := int(workload.Replicas(d.Spec.Replicas))
		// The controller rounds maxUnavailable down.
		n, err := intstr.GetScaledValueFromIntOrPercent(s.RollingUpdate.MaxUnavailable, replicas, false)
		return err == nil && replicas > 0 && n >= replicas, s.RollingUpdate.MaxUnavailable.String()
	}
	return false, ""
}

func runCriticalRecreate(p *check.Pass) error {
	var all []appsv1.Deployment
	for i := range p.Snapshot.Deployments {
		if d := &p.Snapshot.Deployments[i]; d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType ||
			d.Spec.Strategy.RollingUpdate != nil && d.Spec.Strategy.RollingUpdate.MaxUnavailable != nil {
			all = append(all, *d)
		}
	}
	for _, d := range check.SortedByName(all) {
		ok, maxUnavailable := stopsAll(&d)
		if !ok {
			continue
		}
		w := workload.FromDeployment(&d)
		crit := w.Classify()
		if !crit.Critical() || w.Counts.Desired < 2 {
			continue
		}
		name := d.Namespace + "/" + d.Name
		ev := map[string]any{"criticalBecause": crit.Reasons, "replicas": w.Counts.Desired, "strategy": string(d.Spec.Strategy.Type)}
		how, title := "uses strategy Recreate", "updated with strategy Recreate"
		if maxUnavailable != "" {
			ev["maxUnavailable"] = maxUnavailable
			how = fmt.Sprintf("rolls with maxUnavailable %s, Recreate in effect", maxUnavailable)
			title = fmt.Sprintf("maxUnavailable %s stops every replica", maxUnavailable)
		}
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("Deployment %s: critical, %s", name, title),
			Message: fmt.Sprintf("Deployment %s is critical (%s) and %s: its next rollout may stop all %d "+
				"replicas before a new one is ready, so the component is down until the new pods are ready "+
				"(incidents 228, 229).", name, strings.Join(crit.Reasons, ", "), how, w.Counts.Desired),
			Objects:  []check.Object{{Group: "apps", Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}},
			Evidence: ev,
		})
	}
	return nil
}
