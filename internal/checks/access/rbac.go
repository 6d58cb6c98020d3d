package access

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/snapshot"
)

// resource is an API resource a client may list or watch: "pods",
// "endpointslices.discovery.k8s.io".
type resource struct{ Group, Resource string }

func (r resource) String() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// parseResources parses "pods,endpointslices.discovery.k8s.io".
func parseResources(list string) []resource {
	var out []resource
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		res, group, _ := strings.Cut(e, ".")
		out = append(out, resource{Group: group, Resource: res})
	}
	return out
}

// grant is a cluster-wide permission to list or watch a resource, and the
// binding and role it comes from.
type grant struct {
	Resource string   `json:"resource"`
	Verbs    []string `json:"verbs"`
	Binding  string   `json:"clusterRoleBinding"`
	Role     string   `json:"clusterRole"`
}

// rbac evaluates ClusterRoleBindings for ServiceAccounts.
type rbac struct {
	roles    map[string]rbacv1.ClusterRole
	bindings []rbacv1.ClusterRoleBinding
}

func newRBAC(snap *snapshot.Snapshot) *rbac {
	r := &rbac{roles: map[string]rbacv1.ClusterRole{}, bindings: snap.ClusterRoleBindings}
	for _, cr := range snap.ClusterRoles {
		r.roles[cr.Name] = cr
	}
	return r
}

// rules returns a ClusterRole's rules, with those of the ClusterRoles it
// aggregates (the controller copies them in; a snapshot taken before it
// ran, or a hand-written fixture, may not have them yet).
func (r *rbac) rules(name string) []rbacv1.PolicyRule {
	cr, ok := r.roles[name]
	if !ok {
		return nil
	}
	rules := slices.Clone(cr.Rules)
	if cr.AggregationRule == nil {
		return rules
	}
	for _, sel := range cr.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil || s.Empty() {
			continue
		}
		for _, other := range r.roles {
			if other.Name != name && s.Matches(labels.Set(other.Labels)) {
				rules = append(rules, other.Rules...)
			}
		}
	}
	return rules
}

// boundToServiceAccount reports whether a binding's subjects include the
// ServiceAccount namespace/name, directly, by user name or by group.
func boundToServiceAccount(b rbacv1.ClusterRoleBinding, namespace, name string) bool {
	user := "system:serviceaccount:" + namespace + ":" + name
	for _, s := range b.Subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.Namespace == namespace && s.Name == name {
				return true
			}
		case rbacv1.UserKind:
			if s.Name == user {
				return true
			}
		case rbacv1.GroupKind:
			if s.Name == "system:serviceaccounts" || s.Name == "system:serviceaccounts:"+namespace || s.Name == "system:authenticated" {
				return true
			}
		}
	}
	return false
}

// listWatch returns the cluster-wide list/watch grants of ServiceAccount
// namespace/name on each of want (RoleBindings grant one namespace only and
// are not cluster-wide).
func (r *rbac) listWatch(namespace, name string, want []resource) []grant {
	var out []grant
	for _, b := range r.bindings {
		if b.RoleRef.Kind != "ClusterRole" || !boundToServiceAccount(b, namespace, name) {
			continue
		}
		rules := r.rules(b.RoleRef.Name)
		for _, res := range want {
			var verbs []string
			for _, rule := range rules {
				if len(rule.ResourceNames) > 0 || !matches(rule.APIGroups, res.Group) || !matches(rule.Resources, res.Resource) {
					continue
				}
				for _, v := range []string{"list", "watch"} {
					if matches(rule.Verbs, v) && !slices.Contains(verbs, v) {
						verbs = append(verbs, v)
					}
				}
			}
			if len(verbs) > 0 {
				slices.Sort(verbs)
				out = append(out, grant{Resource: res.String(), Verbs: verbs, Binding: b.Name, Role: b.RoleRef.Name})
			}
		}
	}
	return out
}

func matches(list []string, v string) bool {
	return slices.Contains(list, v) || slices.Contains(list, "*")
}

// grantedResources returns the distinct resources of grants, in want order.
func grantedResources(gs []grant, want []resource) []string {
	var out []string
	for _, w := range want {
		for _, g := range gs {
			if g.Resource == w.String() && !slices.Contains(out, g.Resource) {
				out = append(out, g.Resource)
			}
		}
	}
	return out
}
