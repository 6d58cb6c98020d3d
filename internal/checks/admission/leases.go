package admission

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// SlowOnLeases is the webhook-slow-on-leases check.
var SlowOnLeases = &check.Check{
	ID:        "webhook-slow-on-leases",
	Title:     "Webhook timeout longer than lease renewals can wait",
	Category:  "admission",
	Severity:  check.Medium,
	Incidents: []string{"102", "103", "113", "100"},
	Reads:     webhookReads,
	Optional:  []snapshot.Resource{snapshot.Namespaces},
	Doc: `Finds webhooks, fail-open ones included, that intercept lease updates in
kube-system (leader election of the controller-manager, the scheduler and
most controllers) or in kube-node-lease (node heartbeats) and may take
longer than max-timeout to answer (timeoutSeconds, 10 when unset).

failurePolicy Ignore does not help here: the API server waits the whole
timeout before it ignores the failure. The controller-manager renews its
lease with a 10-second deadline every 2 seconds; a backend that hangs for 5
or 10 seconds makes it and the scheduler lose leadership, and with them
garbage collection, rescheduling and node lifecycle (102, 103). Gardener
rewrites such webhooks to 3 seconds because they kept clusters from waking
up (113), and Jetstack's outage began with API requests waiting out a
webhook's 30-second timeout (100).

Webhooks with matchConditions are left alone (their CEL conditions may
exclude these requests).`,
	Remediation: `Exclude leases from the webhook's rules, or kube-system and
kube-node-lease from its namespaceSelector (kubernetes.io/metadata.name
NotIn). If it must see leases, set timeoutSeconds to 3 or less.`,
	Params: []check.Param{
		{Name: "max-timeout", Type: check.Int, Default: "3", Min: "1", Doc: "Seconds a webhook on leases may take (Gardener's limit)."},
	},
	Evidence: []check.EvidenceKey{
		evWebhook,
		{Name: "timeoutSeconds", Doc: "the webhook's timeout (10 when unset)"},
		evFailurePolicy,
		{Name: "leases", Doc: "the lease namespaces it intercepts"},
	},
	Run: runSlowOnLeases,
}

func runSlowOnLeases(p *check.Pass) error {
	nsLabels := namespaceLabels(p.Snapshot)
	for _, h := range hooks(p.Snapshot) {
		if int(h.Timeout) <= p.Int("max-timeout") {
			continue
		}
		var hit []string
		for _, ns := range []string{"kube-system", "kube-node-lease"} {
			r := request{Group: "coordination.k8s.io", Resource: "leases", Operation: admissionv1.Update, Namespace: ns}
			if h.intercepts(r, nsLabels) {
				hit = append(hit, ns)
			}
		}
		if len(hit) == 0 {
			continue
		}
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("Webhook %s: %ds timeout on leases in %s", h.Name, h.Timeout, strings.Join(hit, ", ")),
			Message: fmt.Sprintf("%s %s, webhook %s, intercepts lease updates in %s with a %d-second timeout (failurePolicy %s). "+
				"If its backend hangs, each renewal waits up to %d seconds, longer than leader election and node heartbeats can "+
				"wait: the controller-manager and scheduler lose their leases, or nodes turn NotReady, even when failures are ignored.",
				h.Kind, h.Config, h.Name, strings.Join(hit, " and "), h.Timeout, h.Policy, h.Timeout),
			Objects:  []check.Object{h.object()},
			Evidence: map[string]any{"webhook": h.Name, "timeoutSeconds": h.Timeout, "failurePolicy": string(h.Policy), "leases": hit},
		})
	}
	return nil
}
