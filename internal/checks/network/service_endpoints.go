package network

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// SystemServiceNoEndpoints is the system-service-no-endpoints check.
var SystemServiceNoEndpoints = &check.Check{
	ID:       "system-service-no-endpoints",
	Title:    "Cluster DNS or another system Service with no ready endpoint",
	Category: "network",
	Severity: check.High,
	Escalation: &check.Escalation{To: check.Critical,
		When: "the Service is the cluster DNS (kube-dns): every name lookup in the cluster fails"},
	Incidents: []string{"135", "130", "133"},
	Reads:     []snapshot.Resource{snapshot.Services, snapshot.EndpointSlices},
	Optional: []snapshot.Resource{snapshot.Pods, snapshot.APIServices, snapshot.Deployments, snapshot.StatefulSets,
		snapshot.ValidatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations},
	Doc: `Finds Services in the system namespaces (namespaces, default kube-system) and
the cluster DNS Service (named kube-dns, in any namespace) that select pods
but have no ready endpoint in their EndpointSlices: the ClusterIP routes
nowhere. Services without a selector (endpoints managed by hand or by a
controller), ExternalName Services, Services younger than min-age and
Services whose slices last changed less than min-age ago (a rollout or a
restart in progress) are left out, and so are Services backing an
APIService or an admission webhook, which apiservice-unavailable and
webhook-backend-down report with what they hold back.
A system Service other than the cluster DNS is reported only when its
selector matches pods and none is ready: monitoring charts add Services
in kube-system for control-plane pods that a managed cluster never shows,
and those never had an endpoint to lose. A Service whose Deployments or
StatefulSets are all scaled to zero is left out too: it was switched off
on purpose (GKE's Cloud DNS scales kube-dns to zero and answers lookups on
the node). Evidence says how many pods the selector matches and how many
are ready.

In incident 135 the kube-dns Service listed its only CoreDNS pod under
notReadyAddresses: every lookup in the cluster failed while the pods looked
Running. In incident 130 every CoreDNS pod was OOM-killed at once and the
Service was left with no endpoint for an hour.

Severity: critical for the cluster DNS Service, high for other system
Services.`,
	Remediation: `Find why the selected pods are not ready (kubectl -n <ns> describe pod,
readiness probe, logs) or why the selector matches none (labels changed by
an upgrade). For cluster DNS, restore at least two ready CoreDNS replicas
on different nodes before anything else.`,
	Params: []check.Param{
		{Name: "namespaces", Type: check.Text, Default: "kube-system",
			Doc: "Comma-separated namespaces whose Services the cluster depends on."},
		{Name: "min-age", Type: check.Duration, Default: "5m",
			Doc: "Ignore Services created, or whose EndpointSlices changed, less than this long ago."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "selector", Doc: "spec.selector"},
		{Name: "clusterIP", Doc: "spec.clusterIP"},
		{Name: "endpointSlices", Doc: "EndpointSlices of the Service"},
		{Name: "notReadyEndpoints", Doc: "endpoints listed but not ready"},
		{Name: "lastChange", Doc: "latest endpoints.kubernetes.io/last-change-trigger-time of its slices, if any"},
		{Name: "matchingPods", Doc: "non-terminal pods the selector matches (when Pods were read)"},
		{Name: "readyPods", Doc: "of which ready (when Pods were read)"},
	},
	Run: runSystemServiceNoEndpoints,
}

// clusterDNSService is the name kubeadm, kops and the cloud providers give
// the cluster DNS Service, whatever serves it.
const clusterDNSService = "kube-dns"

func runSystemServiceNoEndpoints(p *check.Pass) error {
	nss := map[string]bool{}
	for _, ns := range p.List("namespaces") {
		nss[ns] = true
	}
	backing := map[[2]string]bool{}
	for _, a := range p.Snapshot.APIServices {
		if a.Service != nil {
			backing[[2]string{a.Service.Namespace, a.Service.Name}] = true
		}
	}
	for _, c := range p.Snapshot.ValidatingWebhookConfigurations {
		for _, w := range c.Webhooks {
			if s := w.ClientConfig.Service; s != nil {
				backing[[2]string{s.Namespace, s.Name}] = true
			}
		}
	}
	for _, c := range p.Snapshot.MutatingWebhookConfigurations {
		for _, w := range c.Webhooks {
			if s := w.ClientConfig.Service; s != nil {
				backing[[2]string{s.Namespace, s.Name}] = true
			}
		}
	}
	bySvc := map[[2]string][]*discoveryv1.EndpointSlice{}
	for i := range p.Snapshot.EndpointSlices {
		s := &p.Snapshot.EndpointSlices[i]
		if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
			k := [2]string{s.Namespace, svc}
			bySvc[k] = append(bySvc[k], s)
		}
	}
	minAge := p.Duration("min-age")
	for _, svc := range check.SortedByName(p.Snapshot.Services) {
		dns := svc.Name == clusterDNSService
		key := [2]string{svc.Namespace, svc.Name}
		if !(nss[svc.Namespace] || dns) || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName ||
			backing[key] || p.Now.Sub(svc.CreationTimestamp.Time) < minAge {
			continue
		}
		ready, notReady := 0, 0
		var last time.Time
		for _, s := range bySvc[key] {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					ready += len(e.Addresses)
				} else {
					notReady += len(e.Addresses)
				}
			}
			if t, err := time.Parse(time.RFC3339, s.Annotations["endpoints.kubernetes.io/last-change-trigger-time"]); err == nil && t.After(last) {
				last = t
			}
		}
		if ready > 0 || (!last.IsZero() && p.Now.Sub(last) < minAge) || scaledToZero(p.Snapshot, svc.Namespace, svc.Spec.Selector) {
			continue
		}
		ev := map[string]any{"selector": svc.Spec.Selector, "clusterIP": svc.Spec.ClusterIP,
			"endpointSlices": len(bySvc[key]), "notReadyEndpoints": notReady}
		if !last.IsZero() {
			ev["lastChange"] = check.FormatTime(last)
		}
		why := fmt.Sprintf(" %s listed, none ready.", check.Plural(notReady, "endpoint is", "endpoints are"))
		if p.Has(snapshot.Pods) {
			matching, readyPods := selectedPods(p.Snapshot, svc.Namespace, svc.Spec.Selector)
			ev["matchingPods"], ev["readyPods"] = matching, readyPods
			if matching == 0 && !dns {
				// Monitoring charts add Services in kube-system for control-plane
				// pods a managed cluster never shows; with no pod to serve them
				// they were never a path anything depends on.
				continue
			}
			why = fmt.Sprintf(" Its selector matches %s, %d ready.", check.Plural(matching, "pod", "pods"), readyPods)
			if matching == 0 {
				why = " Its selector matches no pod."
			}
		} else if !dns {
			continue
		}
		sev, impact := check.High, "Clients of the Service get connection refused or time out."
		if dns {
			sev, impact = check.Critical, "It is the cluster DNS: every name lookup of every pod fails (incident 135)."
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Service %s/%s has no ready endpoint", svc.Namespace, svc.Name),
			Message:  fmt.Sprintf("Service %s/%s selects pods but has no ready endpoint: its ClusterIP routes nowhere.%s %s", svc.Namespace, svc.Name, why, impact),
			Objects:  []check.Object{{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}},
			Evidence: ev,
		})
	}
	return nil
}

// scaledToZero reports whether the Deployments and StatefulSets whose pods
// the selector matches are all scaled to zero (and there is one).
func scaledToZero(snap *snapshot.Snapshot, namespace string, selector map[string]string) bool {
	sel := labels.SelectorFromSet(selector)
	var ws []workload.Workload
	for i := range snap.Deployments {
		ws = append(ws, workload.FromDeployment(&snap.Deployments[i]))
	}
	for i := range snap.StatefulSets {
		ws = append(ws, workload.FromStatefulSet(&snap.StatefulSets[i]))
	}
	found := false
	for _, w := range ws {
		if w.Meta.Namespace != namespace || !sel.Matches(labels.Set(w.Template.Labels)) {
			continue
		}
		if w.Counts.Desired > 0 {
			return false
		}
		found = true
	}
	return found
}

// selectedPods counts the non-terminal pods of namespace the selector
// matches, and how many of them are ready.
func selectedPods(snap *snapshot.Snapshot, namespace string, selector map[string]string) (matching, ready int) {
	sel := labels.SelectorFromSet(selector)
	for i := range snap.Pods {
		pod := &snap.Pods[i]
		if pod.Namespace != namespace || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
			!sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		matching++
		if workload.PodReady(pod) {
			ready++
		}
	}
	return matching, ready
}
