package access

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// APFSharedPriorityLevel is the apf-shared-priority-level check.
var APFSharedPriorityLevel = &check.Check{
	ID:        "apf-shared-priority-level",
	Title:     "Heavy client shares the API priority level of controllers or kubelets",
	Category:  category,
	Severity:  check.High,
	Incidents: []string{"000"},
	Reads: []snapshot.Resource{snapshot.FlowSchemas, snapshot.PriorityLevelConfigurations, snapshot.ClusterRoles,
		snapshot.ClusterRoleBindings, snapshot.DaemonSets, snapshot.Deployments, snapshot.StatefulSets},
	Doc: `Finds the ServiceAccounts of workloads that may list and watch pods,
endpoints or EndpointSlices cluster-wide (the heavy clients of
cluster-wide-node-agent, and their Deployment and StatefulSet cousins),
works out which FlowSchema of API Priority and Fairness their LIST requests
match (by matchingPrecedence, then name) and which priority level serves
them, and reports those that share a level with kube-controller-manager,
kube-scheduler or the kubelets (with the bootstrap configuration:
workload-high for ServiceAccounts in kube-system, system for nodes), or
that are exempt from APF altogether. Cluster DNS (CoreDNS) and kube-proxy
are left out: the bootstrap configuration puts them in workload-high on
purpose, since every Service lookup depends on their watches.

A heavy client in the controllers' level competes with them for the same
seats: when its LISTs and re-lists pile up (every agent restarting after a
deploy, incident 000), controllers and kubelets queue behind it. In an exempt
level nothing limits it at all.

Severity is high for an exempt level, medium for a shared one.`,
	Remediation: `Give heavy clients their own FlowSchema (a matchingPrecedence lower
than the one that matches them now) pointing at a limited priority level of
their own, or at workload-low; move agents out of kube-system if that is
what puts them in workload-high. Never route them to exempt. Then make them
cheaper (see cluster-wide-node-agent).`,
	Params: []check.Param{
		{Name: "resources", Type: check.Text, Default: "pods,endpoints,endpointslices.discovery.k8s.io",
			Doc: "Resources whose cluster-wide list/watch makes a client heavy (resource[.group], comma-separated)."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "serviceAccount", Doc: "namespace/name of the heavy client's ServiceAccount."},
		{Name: "workloads", Doc: "The workloads that run as it."},
		{Name: "mayListWatch", Doc: "Resources it may list and watch cluster-wide."},
		{Name: "flowSchema", Doc: "The FlowSchema its cluster-wide LISTs match."},
		{Name: "matchingPrecedence", Doc: "That FlowSchema's matchingPrecedence."},
		{Name: "priorityLevel", Doc: "The priority level that serves them."},
		{Name: "sharedWith", Doc: "Control-plane clients served by the same level, with their FlowSchemas."},
	},
	Run: runAPF,
}

// apfRequest is the part of a request APF classifies by.
type apfRequest struct {
	User     string
	Groups   []string
	Verb     string
	APIGroup string
	Resource string
}

// classify returns the FlowSchema a cluster-scoped request matches, or nil.
func classify(fss []flowcontrolv1.FlowSchema, r apfRequest) *flowcontrolv1.FlowSchema {
	for i := range fss {
		for _, rule := range fss[i].Spec.Rules {
			if subjectsMatch(rule.Subjects, r) && resourceRulesMatch(rule.ResourceRules, r) {
				return &fss[i]
			}
		}
	}
	return nil
}

func subjectsMatch(subjects []flowcontrolv1.Subject, r apfRequest) bool {
	for _, s := range subjects {
		switch s.Kind {
		case flowcontrolv1.SubjectKindUser:
			if s.User != nil && (s.User.Name == "*" || s.User.Name == r.User) {
				return true
			}
		case flowcontrolv1.SubjectKindGroup:
			if s.Group != nil && (s.Group.Name == "*" || slices.Contains(r.Groups, s.Group.Name)) {
				return true
			}
		case flowcontrolv1.SubjectKindServiceAccount:
			if sa := s.ServiceAccount; sa != nil {
				prefix := "system:serviceaccount:" + sa.Namespace + ":"
				if name, ok := strings.CutPrefix(r.User, prefix); ok && (sa.Name == "*" || sa.Name == name) {
					return true
				}
			}
		}
	}
	return false
}

func resourceRulesMatch(rules []flowcontrolv1.ResourcePolicyRule, r apfRequest) bool {
	for _, rr := range rules {
		// A list across all namespaces has no namespace: only rules with
		// clusterScope match it.
		if rr.ClusterScope && matches(rr.Verbs, r.Verb) && matches(rr.APIGroups, r.APIGroup) && matches(rr.Resources, r.Resource) {
			return true
		}
	}
	return false
}

// controlPlaneClients are the clients whose priority levels heavy clients
// should not share.
var controlPlaneClients = []struct {
	Name string
	apfRequest
}{
	{"kube-controller-manager", apfRequest{User: "system:kube-controller-manager", Groups: []string{"system:authenticated"}}},
	{"kube-scheduler", apfRequest{User: "system:kube-scheduler", Groups: []string{"system:authenticated"}}},
	{"kubelets", apfRequest{User: "system:node:node-1", Groups: []string{"system:nodes", "system:authenticated"}}},
}

func runAPF(p *check.Pass) error {
	snap := p.Snapshot
	if len(snap.FlowSchemas) == 0 {
		return p.NotRun("no FlowSchemas (API Priority and Fairness disabled)")
	}
	fss := slices.Clone(snap.FlowSchemas)
	slices.SortFunc(fss, func(a, b flowcontrolv1.FlowSchema) int {
		return cmp.Or(cmp.Compare(a.Spec.MatchingPrecedence, b.Spec.MatchingPrecedence), cmp.Compare(a.Name, b.Name))
	})
	exempt := map[string]bool{"exempt": true}
	for _, pl := range snap.PriorityLevelConfigurations {
		if pl.Spec.Type == flowcontrolv1.PriorityLevelEnablementExempt {
			exempt[pl.Name] = true
		}
	}
	want := parseResources(p.Text("resources"))
	r := newRBAC(snap)

	type heavy struct {
		namespace, name string
		workloads       []check.Object
		resources       []string
	}
	var clients []*heavy
	for _, w := range workloads(snap) {
		if w.Object.Kind == "Job" {
			continue
		}
		// Cluster DNS and kube-proxy are the clients the bootstrap
		// kube-system-service-accounts FlowSchema serves from workload-high
		// on purpose: every service lookup depends on their watches.
		if c, ok := (workload.Names{Name: w.Object.Name}).Identify(); ok && (c.Role == workload.RoleDNS || c.Role == workload.RoleProxy) {
			continue
		}
		sa := serviceAccountOf(w.Spec)
		grants := r.listWatch(w.Object.Namespace, sa, want)
		if len(grants) == 0 {
			continue
		}
		var h *heavy
		for _, c := range clients {
			if c.namespace == w.Object.Namespace && c.name == sa {
				h = c
			}
		}
		if h == nil {
			h = &heavy{namespace: w.Object.Namespace, name: sa, resources: grantedResources(grants, want)}
			clients = append(clients, h)
		}
		h.workloads = append(h.workloads, w.Object)
	}
	for _, h := range clients {
		res := parseResources(h.resources[0])[0]
		req := apfRequest{User: "system:serviceaccount:" + h.namespace + ":" + h.name,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + h.namespace, "system:authenticated"},
			Verb:   "list", APIGroup: res.Group, Resource: res.Resource}
		fs := classify(fss, req)
		if fs == nil {
			continue // served by the catch-all; nothing to share
		}
		level := fs.Spec.PriorityLevelConfiguration.Name
		var sharedWith []string
		for _, c := range controlPlaneClients {
			creq := c.apfRequest
			creq.Verb, creq.APIGroup, creq.Resource = req.Verb, req.APIGroup, req.Resource
			if cfs := classify(fss, creq); cfs != nil && cfs.Spec.PriorityLevelConfiguration.Name == level {
				sharedWith = append(sharedWith, fmt.Sprintf("%s (FlowSchema %s)", c.Name, cfs.Name))
			}
		}
		var names []string
		for _, w := range h.workloads {
			names = append(names, w.String())
		}
		objects := append([]check.Object{obj("", "ServiceAccount", h.namespace, h.name)}, h.workloads...)
		objects = append(objects, obj("flowcontrol.apiserver.k8s.io", "FlowSchema", "", fs.Name))
		ev := map[string]any{"serviceAccount": h.namespace + "/" + h.name, "workloads": names, "mayListWatch": h.resources,
			"flowSchema": fs.Name, "matchingPrecedence": fs.Spec.MatchingPrecedence, "priorityLevel": level}
		who := fmt.Sprintf("ServiceAccount %s/%s (%s), which may list and watch %s cluster-wide,", h.namespace, h.name,
			strings.Join(names, ", "), strings.Join(h.resources, ", "))
		switch {
		case exempt[level]:
			p.Report(check.Finding{
				Severity: check.High,
				Title:    fmt.Sprintf("ServiceAccount %s/%s is exempt from API Priority and Fairness (FlowSchema %s)", h.namespace, h.name, fs.Name),
				Message: fmt.Sprintf("%s matches FlowSchema %s, which sends it to the exempt priority level %s: nothing limits how much of the "+
					"API servers its LISTs and watches take, and every other client, controllers included, waits behind them.", who, fs.Name, level),
				Objects: objects, Evidence: ev,
			})
		case len(sharedWith) > 0:
			ev["sharedWith"] = sharedWith
			p.Report(check.Finding{
				Severity: check.Medium,
				Title:    fmt.Sprintf("ServiceAccount %s/%s shares priority level %s with %s", h.namespace, h.name, level, strings.Join(sharedWith, ", ")),
				Message: fmt.Sprintf("%s matches FlowSchema %s (precedence %d) and is served by priority level %s, the level that also serves %s. "+
					"When its requests pile up (every agent re-listing after a rollout, incident 000) those clients queue behind it.",
					who, fs.Name, fs.Spec.MatchingPrecedence, level, strings.Join(sharedWith, ", ")),
				Objects: objects, Evidence: ev,
			})
		}
	}
	return nil
}
