package admission

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/snapshot"
)

// BackendDown is the webhook-backend-down check.
var BackendDown = &check.Check{
	ID:         "webhook-backend-down",
	Title:      "Fail-closed admission webhook with no ready backend",
	Category:   "admission",
	Severity:   check.High,
	Escalation: &check.Escalation{To: check.Critical, When: "the webhook also intercepts a request the cluster heals through (pods or leases in kube-system, node heartbeats, nodes, reviews, CSRs, its own pods)"},
	Incidents:  []string{"101", "104", "105", "106", "112"},
	Reads:      slices.Concat(webhookReads, []snapshot.Resource{snapshot.Services, snapshot.EndpointSlices}),
	Optional:   []snapshot.Resource{snapshot.Namespaces, snapshot.Pods, snapshot.Nodes},
	Doc: `Finds validating and mutating webhooks with failurePolicy Fail (the
default) whose backing Service is missing or has no ready endpoint. The API
server refuses every request such a webhook matches, now: "failed calling
webhook ... no endpoints available for service".

When the webhook also intercepts a request the cluster heals through, the
outage feeds itself: pods in kube-system, leader-election leases, node
heartbeats, node registration, token and access reviews, kubelet CSRs (GKE's
list of unsafe webhooks), or the creation of the webhook's own pods. Then
nothing can bring the backend back until someone deletes the webhook
configuration: Gatekeeper's replacement pod could not be created after its
node died (101, 112), the EKS VPC CNI pods could not start while Kyverno had
no endpoints (104), Calico's pods in kube-system waited on a storage
webhook that needed Calico (105), and pod-network disruption deadlocked pod
creation cluster-wide (106).

Namespace and object selectors are evaluated against the namespaces' and
pods' current labels. Webhooks reached by URL, and fail-open ones
(failurePolicy Ignore), are left alone; webhooks with matchConditions are
not escalated (their CEL conditions may exclude system requests).

Severity: critical when the webhook intercepts a healing request, high
otherwise (the requests it matches fail, but the cluster can recover).`,
	Remediation: `Bring the backend back (kubectl -n <ns> get pods,endpointslices for the
Service; why are its pods not ready?). If its own pods cannot be created
because the webhook intercepts them, break the loop: kubectl delete
validatingwebhookconfiguration <name> (or mutating...), or set its
failurePolicy to Ignore; the operator usually recreates it once its pods run.
Then keep it from recurring: exclude kube-system, kube-node-lease and the
webhook's own namespace with a namespaceSelector on
kubernetes.io/metadata.name, run two or more replicas with a
PodDisruptionBudget, and give them a priority class.`,
	Evidence: []check.EvidenceKey{
		evWebhook,
		{Name: "service", Doc: "the backing Service, namespace/name"},
		{Name: "serviceExists", Doc: "whether that Service exists"},
		{Name: "endpoints", Doc: "endpoints in the Service's EndpointSlices"},
		{Name: "readyEndpoints", Doc: "of those, ready ones"},
		evFailurePolicy,
		{Name: "blocks", Doc: "the healing requests the webhook intercepts"},
	},
	Run: runBackendDown,
}

func runBackendDown(p *check.Pass) error {
	for _, h := range hooks(p.Snapshot) {
		if !h.failClosed() || h.Service == nil {
			continue
		}
		var svc *corev1.Service
		for i, s := range p.Snapshot.Services {
			if s.Namespace == h.Service.Namespace && s.Name == h.Service.Name {
				svc = &p.Snapshot.Services[i]
			}
		}
		if svc != nil && svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue // served outside the cluster: its endpoints are not in the API
		}
		ready, total := apiservice.ServiceEndpoints(p.Snapshot, h.Service.Namespace, h.Service.Name)
		if svc != nil && ready > 0 {
			continue
		}
		state := fmt.Sprintf("has no ready endpoint (%d not ready)", total)
		if svc == nil {
			var ok bool
			if state, ok = missing(p, h.Service.Namespace); !ok {
				continue
			}
		}
		blocked := blocks(p.Snapshot, h)
		sev, why := check.High, "The requests it matches are refused until the backend is back."
		if len(blocked) > 0 {
			sev = check.Critical
			why = fmt.Sprintf("It also intercepts %s: the cluster cannot heal through it, and the backend's pods may not come back "+
				"until the webhook configuration is deleted.", strings.Join(blocked, ", "))
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Webhook %s: Service %s %s", h.Name, h.service(), strings.TrimSuffix(state, " (0 not ready)")),
			Message: fmt.Sprintf("%s %s, webhook %s, fails closed and its Service %s %s: the API server rejects every request it matches "+
				"(failed calling webhook: no endpoints available). %s", h.Kind, h.Config, h.Name, h.service(), state, why),
			Objects: []check.Object{h.object(), {Kind: "Service", Namespace: h.Service.Namespace, Name: h.Service.Name}},
			Evidence: map[string]any{
				"webhook": h.Name, "service": h.service(), "serviceExists": svc != nil, "endpoints": total, "readyEndpoints": ready,
				"failurePolicy": string(h.Policy), "blocks": blocked,
			},
		})
	}
	return nil
}

// missing says why a webhook's Service is absent from the snapshot, and
// whether that can be told at all: a scan narrowed to one namespace (-n)
// has no Services of the others. The Service is missing when its namespace
// was read (other objects of it are in the snapshot), or gone when the
// Namespace no longer exists (an uninstall that left the webhook behind).
func missing(p *check.Pass, ns string) (string, bool) {
	s := p.Snapshot
	if slices.ContainsFunc(s.Services, func(o corev1.Service) bool { return o.Namespace == ns }) ||
		slices.ContainsFunc(s.Pods, func(o corev1.Pod) bool { return o.Namespace == ns }) {
		return "does not exist", true
	}
	if p.Has(snapshot.Namespaces) && len(s.Namespaces) > 0 &&
		!slices.ContainsFunc(s.Namespaces, func(o corev1.Namespace) bool { return o.Name == ns }) {
		return "does not exist (nor does its namespace)", true
	}
	return "", false
}
