// Package apiservice checks aggregated API services: an unavailable one
// breaks discovery, and with it namespace deletion (incident 004).
package apiservice

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// Unavailable is the apiservice-unavailable check.
var Unavailable = &check.Check{
	ID:        "apiservice-unavailable",
	Title:     "Aggregated API unavailable (and the namespace deletions it holds back)",
	Category:  "api-availability",
	Severity:  check.Critical,
	Incidents: []string{"004"},
	Reads:     []snapshot.Resource{snapshot.APIServices, snapshot.Namespaces},
	Optional:  []snapshot.Resource{snapshot.Services, snapshot.EndpointSlices},
	Doc: `Finds aggregated APIServices (those backed by a Service, such as
v1beta1.metrics.k8s.io) whose Available condition is not True, and the
namespaces whose deletion each one holds back.

While any aggregated API is unavailable, API discovery is incomplete. The
namespace controller cannot prove a namespace is empty, so every namespace
deleted in that time stays Terminating with the condition
NamespaceDeletionDiscoveryFailure=True. The deletion is not cancelled: what the
namespace still contains WILL be deleted when the API comes back, possibly
days later, when nobody remembers deleting it. In incident 004 a Helm upgrade
dropped a Namespace from a chart while metrics-server was unavailable; four
days later metrics-server recovered and the namespace's workloads were deleted.
Since Kubernetes 1.16 the controller deletes what it can discover at once (seen
in premortem's lab on v1.36: the namespace was emptied in seconds); what waits
for the API is the namespace itself, its name (nothing can be created in a
Terminating namespace, so a redeploy under the same name fails), and objects of
the unavailable group.

Severity is critical when the APIService holds back at least one namespace
deletion, high otherwise. Evidence includes the APIService condition, how long
it has been unavailable and, when read, whether its Service exists and has
ready endpoints.`,
	Remediation: `Fix or remove the APIService: check the backing Service's pods and endpoints
(kubectl -n <ns> get pods,endpointslices), or, if the API is no longer wanted,
delete the APIService (kubectl delete apiservice <name>). Before it recovers,
look at every namespace listed: if its deletion was a mistake, back up what
it still contains now (on clusters older than 1.16, everything), because it
will be deleted as soon as discovery succeeds.`,
	Evidence: []check.EvidenceKey{
		{Name: "apiService", Doc: "the APIService's name"},
		{Name: "groupVersion", Doc: "the group/version it serves"},
		{Name: "service", Doc: "its backing Service, namespace/name"},
		{Name: "available", Doc: "its Available condition: status, reason, message"},
		{Name: "unavailableFor", Doc: "time since the condition last changed"},
		{Name: "scanDiscoveryError", Doc: "the discovery error premortem's own read got for the group, if any"},
		{Name: "serviceExists", Doc: "whether the backing Service exists (when Services were read)"},
		{Name: "endpoints", Doc: "endpoints of the backing Service (when EndpointSlices were read)"},
		{Name: "readyEndpoints", Doc: "of which ready"},
		{Name: "heldNamespaces", Doc: "namespaces whose deletion it holds back, oldest first (at most 50): name, terminatingFor, deletionTimestamp, condition, contentRemaining"},
		{Name: "heldNamespaceCount", Doc: "how many namespaces it holds back"},
	},
	Run: runUnavailable,
}

// maxListed bounds the namespaces a finding lists in its objects and
// evidence (its message names ten); heldNamespaceCount has the total.
const maxListed = 50

// Aggregated reports whether a is served by an extension API server.
func Aggregated(a snapshot.APIService) bool { return a.Service != nil }

// Available returns a's Available condition, or nil if it has none.
func Available(a snapshot.APIService) *snapshot.APIServiceCondition {
	for i := range a.Conditions {
		if a.Conditions[i].Type == "Available" {
			return &a.Conditions[i]
		}
	}
	return nil
}

// UnavailableAPIServices returns the aggregated APIServices whose Available
// condition is not True, sorted by name.
func UnavailableAPIServices(snap *snapshot.Snapshot) []snapshot.APIService {
	var out []snapshot.APIService
	for _, a := range snap.APIServices {
		if c := Available(a); Aggregated(a) && (c == nil || c.Status != "True") {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b snapshot.APIService) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DiscoveryFailure returns the namespace's NamespaceDeletionDiscoveryFailure
// condition if it is True.
func DiscoveryFailure(ns corev1.Namespace) *corev1.NamespaceCondition {
	for i, c := range ns.Status.Conditions {
		if c.Type == corev1.NamespaceDeletionDiscoveryFailure && c.Status == corev1.ConditionTrue {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

// groupVersion renders the APIService's group/version as discovery errors name it.
func groupVersion(a snapshot.APIService) string {
	if a.Group == "" {
		return a.Version
	}
	return a.Group + "/" + a.Version
}

func runUnavailable(p *check.Pass) error {
	snap := p.Snapshot
	unavailable := UnavailableAPIServices(snap)
	if len(unavailable) == 0 {
		return nil
	}
	// Namespaces held back by a discovery failure, by name.
	var held []corev1.Namespace
	for _, ns := range snap.Namespaces {
		if ns.DeletionTimestamp != nil && DiscoveryFailure(ns) != nil {
			held = append(held, ns)
		}
	}
	held = check.SortedByName(held)
	for _, a := range unavailable {
		gv := groupVersion(a)
		var mine []corev1.Namespace
		for _, ns := range held {
			// The condition message names the failing group versions. Any
			// failing group blocks every deletion, so a namespace whose message
			// names none of the unavailable ones is held by all of them.
			msg := DiscoveryFailure(ns).Message
			if strings.Contains(msg, gv) || !mentionsAny(msg, unavailable) {
				mine = append(mine, ns)
			}
		}
		p.Report(finding(p, a, mine))
	}
	return nil
}

func mentionsAny(msg string, as []snapshot.APIService) bool {
	for _, a := range as {
		if strings.Contains(msg, groupVersion(a)) {
			return true
		}
	}
	return false
}

func finding(p *check.Pass, a snapshot.APIService, held []corev1.Namespace) check.Finding {
	ev := map[string]any{
		"apiService":   a.Name,
		"groupVersion": groupVersion(a),
		"service":      a.Service.Namespace + "/" + a.Service.Name,
	}
	state := "has no Available condition"
	if c := Available(a); c != nil {
		ev["available"] = map[string]any{"status": c.Status, "reason": c.Reason, "message": c.Message}
		state = fmt.Sprintf("is not Available (%s)", c.Reason)
		if !c.LastTransitionTime.IsZero() {
			since := p.Now.Sub(c.LastTransitionTime.Time)
			ev["unavailableFor"] = check.FormatAge(since)
			state = fmt.Sprintf("has not been Available for %s (%s)", check.FormatAge(since), c.Reason)
		}
	}
	for _, d := range p.Snapshot.Info.DiscoveryFailures {
		if d.GroupVersion == groupVersion(a) {
			ev["scanDiscoveryError"] = d.Error
		}
	}
	backing := backingService(p, a.Service)
	for k, v := range backing {
		ev[k] = v
	}
	objects := []check.Object{{Group: "apiregistration.k8s.io", Kind: "APIService", Name: a.Name}}
	f := check.Finding{Severity: check.High, Evidence: ev}
	if len(held) == 0 {
		f.Title = fmt.Sprintf("APIService %s %s", a.Name, state)
		f.Message = fmt.Sprintf("Aggregated APIService %s (Service %s/%s) %s. Discovery of %s fails, so any namespace deleted now "+
			"stays Terminating, and its contents are deleted whenever the API comes back.",
			a.Name, a.Service.Namespace, a.Service.Name, state, groupVersion(a))
		f.Objects = objects
		return f
	}
	f.Severity = check.Critical
	// Oldest deletion first: the one whose contents everyone has forgotten.
	slices.SortStableFunc(held, func(a, b corev1.Namespace) int { return a.DeletionTimestamp.Compare(b.DeletionTimestamp.Time) })
	var names []string
	var nsEv []map[string]any
	for i, ns := range held {
		if i == maxListed {
			break
		}
		age := check.FormatAge(p.Now.Sub(ns.DeletionTimestamp.Time))
		if i < 10 {
			names = append(names, fmt.Sprintf("%s (deleted %s ago)", ns.Name, age))
		}
		e := map[string]any{"name": ns.Name, "terminatingFor": age,
			"deletionTimestamp": check.FormatTime(ns.DeletionTimestamp.Time),
			"condition":         DiscoveryFailure(ns).Message}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceContentRemaining && c.Status == corev1.ConditionTrue {
				e["contentRemaining"] = c.Message
			}
		}
		nsEv = append(nsEv, e)
		objects = append(objects, check.Object{Kind: "Namespace", Name: ns.Name})
	}
	if len(held) > len(names) {
		names = append(names, fmt.Sprintf("and %d more", len(held)-len(names)))
	}
	ev["heldNamespaces"] = nsEv
	ev["heldNamespaceCount"] = len(held)
	f.Title = fmt.Sprintf("APIService %s unavailable; holds back deletion of %s", a.Name, check.Plural(len(held), "namespace", "namespaces"))
	f.Message = fmt.Sprintf("Aggregated APIService %s (Service %s/%s) %s. It holds back the deletion of %s: %s. "+
		"Their deletion is not cancelled: whatever they still contain WILL be deleted when the API comes back (incident 004), "+
		"and nothing new can be created in them until then.",
		a.Name, a.Service.Namespace, a.Service.Name, state, check.Plural(len(held), "namespace", "namespaces"), strings.Join(names, ", "))
	f.Objects = objects
	return f
}

// backingService describes the APIService's Service and its ready endpoints,
// when those kinds were read.
func backingService(p *check.Pass, ref *snapshot.ServiceReference) map[string]any {
	ev := map[string]any{}
	if p.Has(snapshot.Services) {
		exists := false
		for _, s := range p.Snapshot.Services {
			if s.Namespace == ref.Namespace && s.Name == ref.Name {
				exists = true
			}
		}
		ev["serviceExists"] = exists
	}
	if p.Has(snapshot.EndpointSlices) {
		ready, total := ServiceEndpoints(p.Snapshot, ref.Namespace, ref.Name)
		ev["endpoints"] = total
		ev["readyEndpoints"] = ready
	}
	return ev
}

// ServiceEndpoints counts the endpoints of the Service namespace/name in
// its EndpointSlices, and how many of them are ready: what the API server
// can send an aggregated API's or a webhook's requests to.
func ServiceEndpoints(snap *snapshot.Snapshot, namespace, name string) (ready, total int) {
	for _, es := range snap.EndpointSlices {
		if es.Namespace != namespace || es.Labels["kubernetes.io/service-name"] != name {
			continue
		}
		for _, e := range es.Endpoints {
			total++
			// A nil ready condition means ready, per the EndpointSlice API.
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready++
			}
		}
	}
	return ready, total
}
