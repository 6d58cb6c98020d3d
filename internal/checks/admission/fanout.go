package admission

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/access"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// DeleteFanOut is the webhook-delete-fanout check.
var DeleteFanOut = &check.Check{
	ID:        "webhook-delete-fanout",
	Title:     "Admission webhook on DELETE whose backend may LIST pods or nodes cluster-wide",
	Category:  "admission",
	Severity:  check.High,
	Incidents: []string{"004"},
	Reads: slices.Concat(webhookReads, []snapshot.Resource{snapshot.Services, snapshot.Pods,
		snapshot.ClusterRoles, snapshot.ClusterRoleBindings}),
	Optional: []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets, snapshot.Nodes},
	Doc: `Finds validating and mutating webhooks whose rules intercept DELETE (or
every operation) and whose backend, the ServiceAccount its Service's pods run
as, may LIST pods or nodes in every namespace (a ClusterRoleBinding). Such a
webhook can turn every deletion it admits into cluster-wide LISTs: the API
server waits for its answer, so the LISTs run while the DELETE is in flight,
one burst per request.

In incident 004 a node-group controller gained deletion protection as an
admission webhook: on every node-group DELETE it listed the group's nodes by
label, then all their pods, in parallel and without resourceVersion. A label
or field selector does not make such a LIST cheap: the API server reads every
pod (from etcd, without resourceVersion) and filters after. One identity
held about 50% of the API servers' query time and etcd was OOM-killed.

A read cannot see whether the backend lists on each call or serves from an
informer's cache; this finds the webhooks that can, and premortem audit
measures what they do (its fan-out table: LISTs per admitted DELETE, from
the audit log). Namespace and object selectors and matchConditions are not
evaluated: they narrow which deletions call the webhook, not what one call
costs.

Severity: high when the webhook intercepts the deletion of a high-volume
kind (high-volume, or every resource): every rollout, eviction and
namespace cleanup deletes those, one admission call per object; medium for
other kinds (incident 004's node groups).`,
	Remediation: `Make the backend serve its checks from an informer's cache (a shared
informer on pods and nodes, or a LIST with resourceVersion=0 at most), not
from a LIST per admission request; bound the parallelism of what it must
list. Narrow the webhook's rules to the operations and kinds it needs, and
its ServiceAccount's ClusterRole to the resources it reads. Measure it:
premortem audit on the API servers' audit log reports each identity's LISTs
per admitted DELETE.`,
	Params: []check.Param{
		{Name: "high-volume", Type: check.Text, Default: "pods,nodes,namespaces,jobs.batch,replicasets.apps,configmaps,secrets,endpointslices.discovery.k8s.io",
			Doc: "Kinds deleted in volume (resource or resource.group): a webhook on their DELETE is high."},
		{Name: "listed", Type: check.Text, Default: "pods,nodes",
			Doc: "Resources whose cluster-wide LIST by the backend makes a fan-out."},
	},
	Evidence: []check.EvidenceKey{
		evWebhook,
		evFailurePolicy,
		{Name: "intercepts", Doc: "the DELETE rules it matches: resource or resource.group, * for every resource"},
		{Name: "highVolume", Doc: "those of them that are high-volume kinds"},
		{Name: "service", Doc: "the backing Service, namespace/name"},
		{Name: "serviceAccount", Doc: "the ServiceAccount its pods run as, namespace/name"},
		{Name: "from", Doc: "where the ServiceAccount was read: the Service's pods, or the pod template of a workload its selector matches"},
		{Name: "grants", Doc: "its cluster-wide list grants on the listed resources: resource, verbs, clusterRoleBinding, clusterRole"},
		{Name: "timeoutSeconds", Doc: "how long the API server waits for the webhook (default 10)"},
		{Name: "nodes", Doc: "nodes in the cluster, when read: what a node LIST reads each time"},
		{Name: "pods", Doc: "pods in the cluster: what a pod LIST reads each time, whatever its selector"},
	},
	Run: runDeleteFanOut,
}

// deleteRules returns what h's rules intercept on DELETE, as resource or
// resource.group ("*" for every resource of a group), subresources left
// out (a DELETE of a subresource is not a deletion).
func deleteRules(h hook) []string {
	var out []string
	for _, r := range h.Rules {
		if !slices.ContainsFunc(r.Operations, func(o admissionv1.OperationType) bool {
			return o == admissionv1.Delete || o == admissionv1.OperationAll
		}) {
			continue
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				if res == "*/*" {
					res = "*"
				}
				if strings.Contains(res, "/") {
					continue
				}
				name := res
				if g != "" {
					name = res + "." + g
				}
				if !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// highVolume returns the intercepted entries that are high-volume kinds:
// every resource ("*", any group), or a listed kind whose group the rule
// names or wildcards.
func highVolume(intercepts []string, kinds string) []string {
	var out []string
	for _, in := range intercepts {
		res, group, _ := strings.Cut(in, ".")
		hit := res == "*"
		for _, k := range strings.Split(kinds, ",") {
			kr, kg, _ := strings.Cut(strings.TrimSpace(k), ".")
			if kr != "" && res == kr && (group == kg || group == "*") {
				hit = true
			}
		}
		if hit {
			out = append(out, in)
		}
	}
	return out
}

// backendServiceAccount returns the ServiceAccount the pods behind a
// webhook's Service run as, and where that was read: the Service's pods,
// else the pod template of a workload in its namespace whose labels the
// selector matches. ok is false when neither is in the snapshot.
func backendServiceAccount(s *snapshot.Snapshot, ref *admissionv1.ServiceReference) (sa, from string, ok bool) {
	var sel labels.Selector
	for _, svc := range s.Services {
		if svc.Namespace == ref.Namespace && svc.Name == ref.Name && len(svc.Spec.Selector) > 0 {
			sel = labels.SelectorFromSet(svc.Spec.Selector)
		}
	}
	if sel == nil {
		return "", "", false
	}
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.Namespace == ref.Namespace && p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) {
			return access.ServiceAccountOf(&p.Spec), "pod " + p.Name, true
		}
	}
	for _, w := range workload.All(s) {
		if w.Meta.Namespace == ref.Namespace && sel.Matches(labels.Set(w.Template.Labels)) {
			return access.ServiceAccountOf(&w.Template.Spec), w.Kind + " " + w.Meta.Name, true
		}
	}
	return "", "", false
}

func runDeleteFanOut(p *check.Pass) error {
	for _, h := range hooks(p.Snapshot) {
		if h.Service == nil {
			continue
		}
		intercepts := deleteRules(h)
		if len(intercepts) == 0 {
			continue
		}
		sa, from, ok := backendServiceAccount(p.Snapshot, h.Service)
		if !ok {
			continue
		}
		var grants []access.Grant
		for _, g := range access.ClusterWideGrants(p.Snapshot, h.Service.Namespace, sa, p.Text("listed")) {
			if slices.Contains(g.Verbs, "list") {
				grants = append(grants, g)
			}
		}
		if len(grants) == 0 {
			continue
		}
		var listed, via []string
		for _, g := range grants {
			if !slices.Contains(listed, g.Resource) {
				listed = append(listed, g.Resource)
			}
			v := "ClusterRoleBinding " + g.Binding + " -> ClusterRole " + g.Role
			if !slices.Contains(via, v) {
				via = append(via, v)
			}
		}
		hv := highVolume(intercepts, p.Text("high-volume"))
		sev, why := check.Medium, "The kinds it intercepts are deleted rarely, but each deletion may cost a burst of cluster-wide LISTs."
		if len(hv) > 0 {
			sev = check.High
			why = fmt.Sprintf("It is called for every deletion of %s: every rollout, eviction and namespace cleanup, one call per object.",
				strings.Join(hv, ", "))
		}
		ev := map[string]any{"webhook": h.Name, "failurePolicy": string(h.Policy), "intercepts": intercepts, "highVolume": hv,
			"service": h.service(), "serviceAccount": h.Service.Namespace + "/" + sa, "from": from, "grants": grants,
			"timeoutSeconds": h.Timeout, "pods": len(p.Snapshot.Pods)}
		size := fmt.Sprintf("%d pods", len(p.Snapshot.Pods))
		if p.Has(snapshot.Nodes) && len(p.Snapshot.Nodes) > 0 {
			ev["nodes"] = len(p.Snapshot.Nodes)
			size = fmt.Sprintf("%d nodes and %d pods", len(p.Snapshot.Nodes), len(p.Snapshot.Pods))
		}
		p.Report(check.Finding{
			Severity: sev,
			Title: fmt.Sprintf("Webhook %s on DELETE %s: backend %s/%s may list %s cluster-wide", h.Name, strings.Join(intercepts, ", "),
				h.Service.Namespace, sa, strings.Join(listed, ", ")),
			Message: fmt.Sprintf("%s %s, webhook %s, intercepts DELETE of %s. Its backend, Service %s, runs as ServiceAccount %s/%s (%s), "+
				"which may list %s in every namespace (%s). If it lists them on each call, every deletion it admits becomes a burst of "+
				"LISTs that each read every object of the kind (the cluster has %s), whatever their selector, while the DELETE waits (up to %ds). %s In incident 004 such a "+
				"webhook's LISTs without resourceVersion held half the API servers' query time; premortem audit measures the LISTs "+
				"per admitted DELETE.", h.Kind, h.Config, h.Name, strings.Join(intercepts, ", "), h.service(), h.Service.Namespace, sa,
				from, strings.Join(listed, ", "), strings.Join(via, "; "), size, h.Timeout, why),
			Objects: []check.Object{h.object(), {Kind: "Service", Namespace: h.Service.Namespace, Name: h.Service.Name},
				{Kind: "ServiceAccount", Namespace: h.Service.Namespace, Name: sa}},
			Evidence: ev,
		})
	}
	return nil
}
