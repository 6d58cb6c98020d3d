// Package rbac computes the least-privilege RBAC premortem needs from the
// checks' declared reads, and renders it as Kubernetes manifests: the
// read-only ClusterRole of the agent (and of a scan run in the cluster), its
// ServiceAccount and binding, and the opt-in role of `premortem measure`.
// deploy/rbac is generated from it (`make docs`); a Helm chart can render
// the same rules under other names.
package rbac

//go:generate go run ./genrbac -dir ../../deploy/rbac -docs ../../docs -chart ../../deploy/helm/premortem

import (
	"cmp"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// ReadVerbs are the verbs the read role grants: premortem reads every kind
// with one paginated LIST and then WATCHes it (the agent's informers).
var ReadVerbs = []string{"list", "watch"}

// ReadByNameVerbs are granted on the kinds a live read also GETs by name
// (kube.ReadByName: the data of the ConfigMaps workloads use, after a
// metadata-only LIST); get on nothing else.
var ReadByNameVerbs = []string{"get", "list", "watch"}

// AllowedVerbs are the only verbs any role premortem ships may grant.
var AllowedVerbs = []string{"get", "list", "watch"}

// MeasureURLs are the non-resource URLs `premortem measure` (and the
// agent's --apiserver-sample) reads, with get only: the API server's
// metrics (read at the ends of a window) and the API Priority and Fairness
// dump it samples every second.
var MeasureURLs = []string{"/metrics", "/debug/api_priority_and_fairness/dump_priority_levels"}

// Grant is one resource the read role grants, and the checks that read it:
// why it is in the role.
type Grant struct {
	Resource snapshot.Resource
	// Checks are the IDs of the checks that read it, in catalog order.
	Checks []string
}

// Grants returns every kind the checks read, required or optional (the
// same list kube.NeedOf gives the scan and the agent), sorted by API group
// then resource, each with the checks that read it. Versions do not matter
// to RBAC: a kind read at two versions is one grant.
func Grants(cs []*check.Check) []Grant {
	var out []Grant
	for _, r := range kube.NeedOf(cs).Want {
		if slices.ContainsFunc(out, func(g Grant) bool { return g.Resource.Same(r) }) {
			continue
		}
		g := Grant{Resource: r}
		for _, c := range cs {
			if slices.ContainsFunc(c.AllReads(), r.Same) {
				g.Checks = append(g.Checks, c.ID)
			}
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Grant) int {
		return cmp.Or(cmp.Compare(a.Resource.Group, b.Resource.Group), cmp.Compare(a.Resource.Resource, b.Resource.Resource))
	})
	return out
}

// Rules returns the read role's rules: one per API group and verb set, its
// resources sorted, ReadVerbs (ReadByNameVerbs for kube.ReadByName). No wildcard, no resourceNames (premortem reads
// every object of a kind), no non-resource URL (discovery and /version are
// granted to every authenticated user by the built-in system:discovery and
// system:public-info-viewer roles).
func Rules(cs []*check.Check) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, g := range Grants(cs) {
		verbs := VerbsFor(g.Resource)
		if i := slices.IndexFunc(out, func(r rbacv1.PolicyRule) bool {
			return r.APIGroups[0] == g.Resource.Group && slices.Equal(r.Verbs, verbs)
		}); i >= 0 {
			out[i].Resources = append(out[i].Resources, g.Resource.Resource)
			continue
		}
		out = append(out, rbacv1.PolicyRule{
			APIGroups: []string{g.Resource.Group},
			Resources: []string{g.Resource.Resource},
			Verbs:     slices.Clone(verbs),
		})
	}
	return out
}

// VerbsFor returns the verbs the read role grants on r.
func VerbsFor(r snapshot.Resource) []string {
	if slices.ContainsFunc(kube.ReadByName, r.Same) {
		return ReadByNameVerbs
	}
	return ReadVerbs
}

// MeasureRules returns the measure role's one rule: get on MeasureURLs.
func MeasureRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{NonResourceURLs: slices.Clone(MeasureURLs), Verbs: []string{"get"}}}
}
