package admission

import (
	"fmt"
	"strings"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/snapshot"
)

// BlocksRecovery is the webhook-blocks-recovery check.
var BlocksRecovery = &check.Check{
	ID:        "webhook-blocks-recovery",
	Title:     "Fail-closed admission webhook in the path the cluster heals through",
	Category:  "admission",
	Severity:  check.High,
	Incidents: []string{"100", "101", "104", "105", "106", "112"},
	Reads:     webhookReads,
	Optional:  []snapshot.Resource{snapshot.Namespaces, snapshot.Pods, snapshot.Nodes, snapshot.Services, snapshot.EndpointSlices},
	Doc: `Finds validating and mutating webhooks with failurePolicy Fail (the
default) that intercept a request the cluster heals through: creating pods
in kube-system, renewing leader-election leases in kube-system, node
heartbeats in kube-node-lease, registering nodes, token and access reviews,
kubelet certificate signing requests (GKE's list of unsafe webhooks), or
creating the webhook's own pods.

Such a webhook works until its backend goes away: a node dies, the pod
network breaks, a node group is rebuilt. Then the API server refuses the
very requests that would bring the backend back, and the cluster cannot heal
itself until someone deletes the webhook configuration. Gatekeeper's
webhook blocked its own replacement pod (101, 112), Kyverno blocked the EKS
VPC CNI (104), a storage webhook blocked Calico in kube-system (105), pod
creation deadlocked cluster-wide during a network disruption (106), and an
OPA webhook over every namespace took a GKE cluster down during a master
upgrade (100).

The namespace selector is evaluated against the namespaces' labels, the
object selector against the labels of the pods and nodes that exist now (a
selector that requires a label those objects lack excludes them). Webhooks
with matchConditions are left alone: their CEL conditions may exclude system
requests, and a read cannot evaluate them. Fail-open webhooks are the
webhook-slow-on-leases check's concern.`,
	Remediation: `Keep the webhook out of the paths the cluster heals through: a
namespaceSelector excluding kube-system, kube-node-lease and the webhook's
own namespace (key kubernetes.io/metadata.name, operator NotIn), rules that
do not match nodes, leases, reviews or CSRs, or an objectSelector that
excludes the webhook's own pods. Where the policy must cover system
namespaces, a ValidatingAdmissionPolicy (in-process, no backend to lose)
can. Failing that, failurePolicy Ignore with a short timeout.`,
	Evidence: []check.EvidenceKey{
		evWebhook,
		{Name: "service", Doc: "the backing Service, namespace/name (empty for a URL)"},
		{Name: "blocks", Doc: "the healing requests the webhook intercepts"},
		{Name: "namespaceSelector", Doc: "whether the webhook has a namespaceSelector"},
		{Name: "timeoutSeconds", Doc: "the webhook's timeout"},
		{Name: "readyEndpoints", Doc: "ready endpoints of its Service (when EndpointSlices were read): one is a node loss away from the deadlock"},
	},
	Run: runBlocksRecovery,
}

func runBlocksRecovery(p *check.Pass) error {
	for _, h := range hooks(p.Snapshot) {
		if !h.failClosed() {
			continue
		}
		blocked := blocks(p.Snapshot, h)
		if len(blocked) == 0 {
			continue
		}
		ev := map[string]any{
			"webhook": h.Name, "service": h.service(), "blocks": blocked,
			"namespaceSelector": h.NamespaceSelector != nil && !selectsAll(h), "timeoutSeconds": h.Timeout,
		}
		backend, ready := "its backend", ""
		if h.Service != nil {
			backend = "its Service " + h.service()
			if p.Has(snapshot.EndpointSlices) {
				n, _ := apiservice.ServiceEndpoints(p.Snapshot, h.Service.Namespace, h.Service.Name)
				ev["readyEndpoints"] = n
				ready = fmt.Sprintf(" It has %s now.", check.Plural(n, "ready endpoint", "ready endpoints"))
			}
		}
		p.Report(check.Finding{
			Severity: check.High,
			Title:    fmt.Sprintf("Webhook %s fails closed on %s", h.Name, strings.Join(check.First(blocked, 2), ", ")),
			Message: fmt.Sprintf("%s %s, webhook %s, fails closed and intercepts %s. When %s is unreachable, the API server refuses "+
				"these requests, and the cluster cannot bring the backend back on its own: deleting the webhook configuration is then "+
				"the only way out.%s", h.Kind, h.Config, h.Name, strings.Join(blocked, ", "), backend, ready),
			Objects:  []check.Object{h.object()},
			Evidence: ev,
		})
	}
	return nil
}

// selectsAll reports whether the webhook's namespace selector is empty.
func selectsAll(h hook) bool {
	sel := h.NamespaceSelector
	return sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0)
}
