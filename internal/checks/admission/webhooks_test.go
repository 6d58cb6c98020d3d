package admission

import (
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The API server's matching rules, as the checks apply them: resources
// versus subresources, scope, namespace and object selectors, and
// matchConditions given the benefit of the doubt.
func TestIntercepts(t *testing.T) {
	podsCreate := request{Resource: "pods", Operation: admissionv1.Create, Namespace: "kube-system",
		Labels: []labels.Set{{"k8s-app": "calico-node"}}}
	csr := request{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Operation: admissionv1.Create}
	rule := func(groups, resources []string, ops ...admissionv1.OperationType) admissionv1.RuleWithOperations {
		return admissionv1.RuleWithOperations{Operations: ops, Rule: admissionv1.Rule{APIGroups: groups, Resources: resources}}
	}
	namespaced, cluster := admissionv1.NamespacedScope, admissionv1.ClusterScope
	scoped := func(r admissionv1.RuleWithOperations, s admissionv1.ScopeType) admissionv1.RuleWithOperations {
		r.Scope = &s
		return r
	}
	notIn := func(key string, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpNotIn, Values: values}}}
	}
	tests := []struct {
		name string
		h    hook
		r    request
		want bool
	}{
		{"pods", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)}}, podsCreate, true},
		{"every resource", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{"*"}, []string{"*"}, admissionv1.OperationAll)}}, podsCreate, true},
		{"every subresource too", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{"*"}, []string{"*/*"}, admissionv1.Create)}}, podsCreate, true},
		{"subresources only", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods/*"}, admissionv1.Create)}}, podsCreate, false},
		{"other operation", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Update)}}, podsCreate, false},
		{"other group", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{"apps"}, []string{"*"}, admissionv1.Create)}}, podsCreate, false},
		{"namespaced scope", hook{Rules: []admissionv1.RuleWithOperations{scoped(rule([]string{"*"}, []string{"*"}, admissionv1.Create), namespaced)}}, csr, false},
		{"cluster scope", hook{Rules: []admissionv1.RuleWithOperations{scoped(rule([]string{"*"}, []string{"*"}, admissionv1.Create), cluster)}}, csr, true},
		{"kube-system excluded", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)},
			NamespaceSelector: notIn("kubernetes.io/metadata.name", "kube-system")}, podsCreate, false},
		{"namespace selector never skips cluster-scoped kinds", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{"*"}, []string{"*"}, admissionv1.Create)},
			NamespaceSelector: notIn("kubernetes.io/metadata.name", "kube-system")}, csr, true},
		{"opt-in object selector", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)},
			ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"inject": "true"}}}, podsCreate, false},
		{"opt-out object selector", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)},
			ObjectSelector: notIn("app", "policy-webhook")}, podsCreate, true},
		{"object selector excluding those pods", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)},
			ObjectSelector: notIn("k8s-app", "calico-node")}, podsCreate, false},
		{"matchConditions", hook{Rules: []admissionv1.RuleWithOperations{rule([]string{""}, []string{"pods"}, admissionv1.Create)}, MatchConditions: 1}, podsCreate, false},
	}
	nsLabels := func(name string) labels.Set { return labels.Set{"kubernetes.io/metadata.name": name} }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.intercepts(tt.r, nsLabels); got != tt.want {
				t.Errorf("intercepts = %v, want %v", got, tt.want)
			}
		})
	}
}
