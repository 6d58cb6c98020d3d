package admission

import (
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// webhookReads are the two kinds every check of the package reads.
var webhookReads = []snapshot.Resource{snapshot.ValidatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations}

// Evidence keys every check of the package reports.
var (
	evWebhook       = check.EvidenceKey{Name: "webhook", Doc: "the webhook's name within its configuration"}
	evFailurePolicy = check.EvidenceKey{Name: "failurePolicy", Doc: "the webhook's failurePolicy (Fail when unset)"}
)

// hook is one webhook of a validating or mutating configuration, with the
// API server's defaults applied (admissionregistration.k8s.io/v1).
type hook struct {
	Kind   string // ValidatingWebhookConfiguration or MutatingWebhookConfiguration
	Config string // the configuration's name
	Name   string
	Policy admissionv1.FailurePolicyType
	// Timeout is timeoutSeconds (default 10).
	Timeout           int32
	Rules             []admissionv1.RuleWithOperations
	NamespaceSelector *metav1.LabelSelector
	ObjectSelector    *metav1.LabelSelector
	MatchConditions   int
	Service           *admissionv1.ServiceReference
	CABundle          []byte
}

// hooks returns every webhook of the snapshot, validating ones first.
func hooks(s *snapshot.Snapshot) []hook {
	var out []hook
	add := func(kind, config string, name string, fp *admissionv1.FailurePolicyType, timeout *int32, rules []admissionv1.RuleWithOperations,
		ns, obj *metav1.LabelSelector, conds int, cc admissionv1.WebhookClientConfig) {
		h := hook{Kind: kind, Config: config, Name: name, Policy: admissionv1.Fail, Timeout: 10, Rules: rules,
			NamespaceSelector: ns, ObjectSelector: obj, MatchConditions: conds, Service: cc.Service, CABundle: cc.CABundle}
		if fp != nil {
			h.Policy = *fp
		}
		if timeout != nil {
			h.Timeout = *timeout
		}
		out = append(out, h)
	}
	for _, c := range s.ValidatingWebhookConfigurations {
		for _, w := range c.Webhooks {
			add("ValidatingWebhookConfiguration", c.Name, w.Name, w.FailurePolicy, w.TimeoutSeconds, w.Rules,
				w.NamespaceSelector, w.ObjectSelector, len(w.MatchConditions), w.ClientConfig)
		}
	}
	for _, c := range s.MutatingWebhookConfigurations {
		for _, w := range c.Webhooks {
			add("MutatingWebhookConfiguration", c.Name, w.Name, w.FailurePolicy, w.TimeoutSeconds, w.Rules,
				w.NamespaceSelector, w.ObjectSelector, len(w.MatchConditions), w.ClientConfig)
		}
	}
	return out
}

// object names the webhook's configuration.
func (h hook) object() check.Object {
	return check.Object{Group: "admissionregistration.k8s.io", Kind: h.Kind, Name: h.Config}
}

// failClosed reports whether a failed call rejects the request.
func (h hook) failClosed() bool { return h.Policy != admissionv1.Ignore }

// service renders the backing Service as "ns/name", or "" for a URL webhook.
func (h hook) service() string {
	if h.Service == nil {
		return ""
	}
	return h.Service.Namespace + "/" + h.Service.Name
}

// request is one kind of API request the cluster needs to heal itself.
type request struct {
	What      string // what it is, for messages: "creating pods in kube-system"
	Group     string
	Resource  string
	Operation admissionv1.OperationType
	// Namespace is where the objects live; "" for cluster-scoped kinds.
	Namespace string
	// Labels are label sets of objects of the kind the request is about
	// (their current ones, from the snapshot); none means unlabelled.
	Labels []labels.Set
}

// intercepts reports whether h is called for r: a rule matches the group,
// resource and operation, the namespace selector matches the namespace's
// labels, and the object selector matches at least one of r's label sets.
// A webhook with matchConditions may exclude r in ways a read cannot
// evaluate (CEL on the request's user): it is given the benefit of the doubt.
func (h hook) intercepts(r request, nsLabels func(string) labels.Set) bool {
	if h.MatchConditions > 0 || !slices.ContainsFunc(h.Rules, func(rule admissionv1.RuleWithOperations) bool { return ruleMatches(rule, r) }) {
		return false
	}
	if r.Namespace != "" && !selects(h.NamespaceSelector, []labels.Set{nsLabels(r.Namespace)}) {
		return false
	}
	sets := r.Labels
	if len(sets) == 0 {
		sets = []labels.Set{{}}
	}
	return selects(h.ObjectSelector, sets)
}

// selects reports whether sel matches any of sets; nil or empty matches all.
// An invalid selector matches nothing (the API server would not have
// accepted it).
func selects(sel *metav1.LabelSelector, sets []labels.Set) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(sets, func(l labels.Set) bool { return s.Matches(l) })
}

// ruleMatches applies a webhook rule to a request the way the API server
// does for a main resource (no subresource).
func ruleMatches(rule admissionv1.RuleWithOperations, r request) bool {
	anyOf := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
	ops := make([]string, len(rule.Operations))
	for i, o := range rule.Operations {
		ops[i] = string(o)
	}
	if !anyOf(ops, string(r.Operation)) || !anyOf(rule.APIGroups, r.Group) {
		return false
	}
	// "*" is every resource, "*/*" every resource and subresource;
	// "pods/*" matches only subresources.
	if !slices.Contains(rule.Resources, r.Resource) && !slices.Contains(rule.Resources, "*") && !slices.Contains(rule.Resources, "*/*") {
		return false
	}
	scope := admissionv1.AllScopes
	if rule.Scope != nil {
		scope = *rule.Scope
	}
	switch scope {
	case admissionv1.NamespacedScope:
		return r.Namespace != ""
	case admissionv1.ClusterScope:
		return r.Namespace == ""
	}
	return true
}

// namespaceLabels returns the labels of a namespace as the API server
// matches them: the Namespace's own when it was read, else the label every
// namespace carries (kubernetes.io/metadata.name).
func namespaceLabels(s *snapshot.Snapshot) func(string) labels.Set {
	return func(name string) labels.Set {
		for _, ns := range s.Namespaces {
			if ns.Name == name {
				l := labels.Set{corev1.LabelMetadataName: name}
				for k, v := range ns.Labels {
					l[k] = v
				}
				return l
			}
		}
		return labels.Set{corev1.LabelMetadataName: name}
	}
}

// podLabels returns the label sets of the pods in namespace ns that
// selector matches (all of them when it is nil).
func podLabels(s *snapshot.Snapshot, ns string, selector map[string]string) []labels.Set {
	sel := labels.Everything()
	if selector != nil {
		sel = labels.SelectorFromSet(selector)
	}
	var out []labels.Set
	for _, p := range s.Pods {
		if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, labels.Set(p.Labels))
		}
	}
	return out
}

// healingRequests are the requests a cluster heals through, after GKE's
// list of unsafe webhooks (pods and leases in kube-system, leases in
// kube-node-lease, nodes, token and access reviews, CSRs) and, when h is
// served from inside the cluster, the creation of the webhook's own pods.
func healingRequests(s *snapshot.Snapshot, h hook) []request {
	var nodeLabels []labels.Set
	for _, n := range s.Nodes {
		nodeLabels = append(nodeLabels, labels.Set(n.Labels))
	}
	reqs := []request{
		{What: "creating pods in kube-system", Resource: "pods", Operation: admissionv1.Create, Namespace: "kube-system",
			Labels: podLabels(s, "kube-system", nil)},
		{What: "renewing leader-election leases in kube-system", Group: "coordination.k8s.io", Resource: "leases",
			Operation: admissionv1.Update, Namespace: "kube-system"},
		{What: "node heartbeats (leases in kube-node-lease)", Group: "coordination.k8s.io", Resource: "leases",
			Operation: admissionv1.Update, Namespace: "kube-node-lease"},
		{What: "registering nodes", Resource: "nodes", Operation: admissionv1.Create, Labels: nodeLabels},
		{What: "token reviews", Group: "authentication.k8s.io", Resource: "tokenreviews", Operation: admissionv1.Create},
		{What: "subject access reviews", Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Operation: admissionv1.Create},
		{What: "certificate signing requests (kubelet certificates)", Group: "certificates.k8s.io", Resource: "certificatesigningrequests",
			Operation: admissionv1.Create},
	}
	if h.Service != nil && h.Service.Namespace != "kube-system" {
		reqs = append(reqs, request{What: fmt.Sprintf("creating its own pods in %s", h.Service.Namespace), Resource: "pods",
			Operation: admissionv1.Create, Namespace: h.Service.Namespace, Labels: backendLabels(s, h.Service)})
	}
	return reqs
}

// backendLabels are the labels of the pods behind a Service: those of its
// pods when any exist, else its selector (every such pod carries it).
func backendLabels(s *snapshot.Snapshot, ref *admissionv1.ServiceReference) []labels.Set {
	for _, svc := range s.Services {
		if svc.Namespace != ref.Namespace || svc.Name != ref.Name || len(svc.Spec.Selector) == 0 {
			continue
		}
		if pods := podLabels(s, svc.Namespace, svc.Spec.Selector); len(pods) > 0 {
			return pods
		}
		return []labels.Set{labels.Set(svc.Spec.Selector)}
	}
	return nil
}

// blocks returns what of the healing requests h intercepts.
func blocks(s *snapshot.Snapshot, h hook) []string {
	nsLabels := namespaceLabels(s)
	out := []string{}
	for _, r := range healingRequests(s, h) {
		if h.intercepts(r, nsLabels) {
			out = append(out, r.What)
		}
	}
	return out
}
