// Package refs finds every place in a cluster that names an address or a
// hostname (incident 002: a DNS name of the Kubernetes master was removed
// because it looked unused; a checker's kubeconfig, kept where nobody
// looked, still used it). It searches objects streamed to it one at a time,
// keeps only what matched, and names the workloads that consume each match.
// Secret values are searched, never kept and never reported: a reference in
// a Secret names the Secret and the key only.
package refs

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// Reads are the kinds a search needs. Those a kube Reader can stream
// (kube.Visitable) are searched whole as they arrive; the others (APIService,
// ReplicaSet and Node metadata) come from the snapshot.
var Reads = []snapshot.Resource{
	snapshot.ConfigMaps, snapshot.Secrets, snapshot.Pods, snapshot.Services, snapshot.EndpointSlices,
	snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs, snapshot.CronJobs,
	snapshot.Ingresses, snapshot.NetworkPolicies, snapshot.ValidatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations,
	snapshot.APIServices, snapshot.ReplicaSets, snapshot.Nodes,
}

// Reference is one place that names a searched address or hostname.
type Reference struct {
	// Query is the searched host (as parsed: lower case, no port).
	Query  string       `json:"query"`
	Object check.Object `json:"object"`
	// Field locates the reference in the object: "data[config]",
	// "spec.template.spec.containers[checker].env[KUBE_MASTER]".
	Field string `json:"field"`
	// Kind is what sort of reference it is: data, secret-data, kubeconfig,
	// env, args, command, image, hostAliases, dnsConfig, nfs, externalName,
	// externalIP, loadBalancer, clusterIP, service-dns, endpoint, ingress-host, ipBlock,
	// ingress-tls, webhook-url, webhook-service, apiservice-service,
	// node-address, pod-ip.
	Kind string `json:"kind"`
	// Kubeconfig is the cluster entry of a kubeconfig stored in a ConfigMap
	// or Secret whose server names the query.
	Kubeconfig *address.KubeconfigCluster `json:"kubeconfig,omitempty"`
	// Context is the text around the match; never set for Secret data.
	Context string `json:"context,omitempty"`
	// Consumers are the workloads (and their pods) that use the object.
	Consumers []Consumer `json:"consumers"`
}

// Consumer is a workload that uses a referencing object.
type Consumer struct {
	Workload check.Object `json:"workload"`
	// How the workload uses the object: "volume kubeconfig", "envFrom ...";
	// empty when the reference is in the workload itself.
	How  string   `json:"how,omitempty"`
	Pods []string `json:"pods"`
}

// Result is what a search found.
type Result struct {
	Queries    []string    `json:"queries"`
	References []Reference `json:"references"`
	// Searched counts the objects searched, by kind.
	Searched map[string]int `json:"searched"`
	// NotRead lists kinds that could not be read: references in them are
	// unknown, so the search is incomplete.
	// (A failing aggregated API group holds none of the kinds searched: it
	// does not make the search incomplete.)
	NotRead []snapshot.Skipped `json:"notRead,omitempty"`
}

// Complete reports whether everything was read.
func (r *Result) Complete() bool { return len(r.NotRead) == 0 }

// Search accumulates references from objects visited one at a time. It
// keeps only what matched and the little needed to name consumers (which
// pod belongs to which workload, which workload uses which ConfigMap or
// Secret), never whole objects.
type Search struct {
	queries   []address.Query
	refs      []Reference
	podRefs   []Reference
	uses      []use
	pods      []pod
	rsOwner   map[string]string // namespace/replicaset -> deployment
	jobOwner  map[string]string // namespace/job -> cronjob
	workloads map[check.Object]bool
	searched  map[string]int
	info      snapshot.Info
}

// use says a workload (or a pod of no searched workload) uses a ConfigMap
// or Secret.
type use struct {
	workload  check.Object
	namespace string
	address.ConfigUse
}

type pod struct {
	namespace, name string
	owner           *metav1.OwnerReference
	uses            []address.ConfigUse
}

// NewSearch starts a search for queries.
func NewSearch(queries []address.Query) *Search {
	return &Search{queries: queries, rsOwner: map[string]string{}, jobOwner: map[string]string{},
		workloads: map[check.Object]bool{}, searched: map[string]int{}}
}

// Visit searches one object (a pointer to a k8s.io/api type). It matches
// kube.Visitor; objects of other types are ignored.
func (s *Search) Visit(_ snapshot.Resource, obj any) {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		s.count("ConfigMap")
		ref := object("", "ConfigMap", o.Namespace, o.Name)
		for _, k := range slices.Sorted(maps.Keys(o.Data)) {
			s.text(ref, "data["+k+"]", o.Data[k], false)
		}
		for _, k := range slices.Sorted(maps.Keys(o.BinaryData)) {
			s.text(ref, "binaryData["+k+"]", string(o.BinaryData[k]), false)
		}
	case *corev1.Secret:
		s.count("Secret")
		ref := object("", "Secret", o.Namespace, o.Name)
		for _, k := range slices.Sorted(maps.Keys(o.Data)) {
			s.text(ref, "data["+k+"]", string(o.Data[k]), true)
		}
		// stringData appears only in manifests (a file searched offline).
		for _, k := range slices.Sorted(maps.Keys(o.StringData)) {
			s.text(ref, "stringData["+k+"]", o.StringData[k], true)
		}
	case *appsv1.Deployment:
		s.workload(object("apps", "Deployment", o.Namespace, o.Name), "spec.template.spec.", &o.Spec.Template.Spec)
	case *appsv1.DaemonSet:
		s.workload(object("apps", "DaemonSet", o.Namespace, o.Name), "spec.template.spec.", &o.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		s.workload(object("apps", "StatefulSet", o.Namespace, o.Name), "spec.template.spec.", &o.Spec.Template.Spec)
	case *batchv1.CronJob:
		s.workload(object("batch", "CronJob", o.Namespace, o.Name), "spec.jobTemplate.spec.template.spec.", &o.Spec.JobTemplate.Spec.Template.Spec)
	case *batchv1.Job:
		if c := metav1.GetControllerOf(o); c != nil && c.Kind == "CronJob" {
			// The CronJob's template is searched; its Jobs are copies.
			s.jobOwner[o.Namespace+"/"+o.Name] = c.Name
			s.count("Job")
			return
		}
		s.workload(object("batch", "Job", o.Namespace, o.Name), "spec.template.spec.", &o.Spec.Template.Spec)
	case *corev1.Pod:
		s.pod(o)
	case *corev1.Service:
		s.service(o)
	case *discoveryv1.EndpointSlice:
		s.count("EndpointSlice")
		ref := object("discovery.k8s.io", "EndpointSlice", o.Namespace, o.Name)
		for i, e := range o.Endpoints {
			for _, a := range e.Addresses {
				s.value(ref, "endpoints["+itoa(i)+"].addresses", "endpoint", a)
			}
			if e.Hostname != nil {
				s.value(ref, "endpoints["+itoa(i)+"].hostname", "endpoint", *e.Hostname)
			}
		}
	case *networkingv1.Ingress:
		s.count("Ingress")
		ref := object("networking.k8s.io", "Ingress", o.Namespace, o.Name)
		for i, r := range o.Spec.Rules {
			s.value(ref, "spec.rules["+itoa(i)+"].host", "ingress-host", r.Host)
		}
		for i, t := range o.Spec.TLS {
			for _, h := range t.Hosts {
				s.value(ref, "spec.tls["+itoa(i)+"].hosts", "ingress-tls", h)
			}
		}
		for _, in := range o.Status.LoadBalancer.Ingress {
			s.value(ref, "status.loadBalancer.ingress", "loadBalancer", in.IP)
			s.value(ref, "status.loadBalancer.ingress", "loadBalancer", in.Hostname)
		}
	case *networkingv1.NetworkPolicy:
		s.count("NetworkPolicy")
		ref := object("networking.k8s.io", "NetworkPolicy", o.Namespace, o.Name)
		for i, r := range o.Spec.Ingress {
			for j, peer := range r.From {
				s.ipBlock(ref, fmt.Sprintf("spec.ingress[%d].from[%d].ipBlock", i, j), peer.IPBlock)
			}
		}
		for i, r := range o.Spec.Egress {
			for j, peer := range r.To {
				s.ipBlock(ref, fmt.Sprintf("spec.egress[%d].to[%d].ipBlock", i, j), peer.IPBlock)
			}
		}
	case *admissionv1.ValidatingWebhookConfiguration:
		s.count("ValidatingWebhookConfiguration")
		ref := object("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "", o.Name)
		for _, w := range o.Webhooks {
			s.webhook(ref, w.Name, w.ClientConfig)
		}
	case *admissionv1.MutatingWebhookConfiguration:
		s.count("MutatingWebhookConfiguration")
		ref := object("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "", o.Name)
		for _, w := range o.Webhooks {
			s.webhook(ref, w.Name, w.ClientConfig)
		}
	}
}

// AddSnapshot searches the kinds kept in a snapshot (APIServices, Nodes)
// and learns which Deployment owns each ReplicaSet. Its Info's gaps make
// the result incomplete.
func (s *Search) AddSnapshot(snap *snapshot.Snapshot) {
	s.info = snap.Info
	for _, rs := range snap.Metadata[snapshot.ReplicaSets] {
		if c := metav1.GetControllerOf(&rs); c != nil && c.Kind == "Deployment" {
			s.rsOwner[rs.Namespace+"/"+rs.Name] = c.Name
		}
	}
	for _, a := range snap.APIServices {
		s.count("APIService")
		if a.Service == nil {
			continue
		}
		ref := object("apiregistration.k8s.io", "APIService", "", a.Name)
		for _, q := range s.queries {
			if serviceName(q, a.Service.Namespace, a.Service.Name) {
				s.add(Reference{Query: q.Host, Object: ref, Field: "spec.service", Kind: "apiservice-service",
					Context: a.Service.Name + "." + a.Service.Namespace + ".svc"})
			}
		}
	}
	for _, n := range snap.Nodes {
		s.count("Node")
		ref := object("", "Node", "", n.Name)
		for _, a := range n.Status.Addresses {
			s.value(ref, "status.addresses["+string(a.Type)+"]", "node-address", a.Address)
		}
	}
}

func (s *Search) count(kind string) { s.searched[kind]++ }

// text searches a ConfigMap or Secret value. A value that is a kubeconfig
// is reported by cluster entry; other matches by key, with the line around
// the first one unless the value is secret.
func (s *Search) text(obj check.Object, field, value string, secret bool) {
	var clusters []address.KubeconfigCluster
	parsed := false
	kind := "data"
	if secret {
		kind = "secret-data"
	}
	for _, q := range s.queries {
		offsets := q.Find(value)
		if len(offsets) == 0 {
			continue
		}
		if !parsed {
			clusters, parsed = address.Kubeconfig(value), true
		}
		inServers := 0
		for _, c := range clusters {
			if found := q.Find(c.Server); len(found) > 0 {
				inServers += len(found)
				// A server URL may carry a password (https://user:pw@host).
				c.Server = excerpt(c.Server, found[0], len(q.Host))
				s.add(Reference{Query: q.Host, Object: obj, Field: field, Kind: "kubeconfig", Kubeconfig: &c})
			}
		}
		if len(offsets) > inServers {
			r := Reference{Query: q.Host, Object: obj, Field: field, Kind: kind}
			if !secret {
				r.Context = excerpt(value, offsets[0], len(q.Host))
			}
			s.add(r)
		}
	}
}

// value reports a field whose value may name q, with an excerpt around the
// match as context.
func (s *Search) value(obj check.Object, field, kind, value string) {
	if value == "" {
		return
	}
	for _, q := range s.queries {
		if offsets := q.Find(value); len(offsets) > 0 {
			s.add(Reference{Query: q.Host, Object: obj, Field: field, Kind: kind, Context: excerpt(value, offsets[0], len(q.Host))})
		}
	}
}

func (s *Search) add(r Reference) { s.refs = append(s.refs, r) }

func (s *Search) workload(obj check.Object, prefix string, spec *corev1.PodSpec) {
	s.count(obj.Kind)
	s.workloads[obj] = true
	for _, u := range address.PodSpecConfig(spec) {
		s.uses = append(s.uses, use{workload: obj, namespace: obj.Namespace, ConfigUse: u})
	}
	for _, f := range address.PodSpecFields(spec) {
		s.value(obj, prefix+f.Path, f.Kind, f.Value)
	}
}

func (s *Search) pod(o *corev1.Pod) {
	s.count("Pod")
	p := &pod{namespace: o.Namespace, name: o.Name, uses: address.PodSpecConfig(&o.Spec)}
	if c := metav1.GetControllerOf(o); c != nil {
		c := *c
		p.owner = &c
	}
	s.pods = append(s.pods, *p)
	obj := object("", "Pod", o.Namespace, o.Name)
	for _, f := range address.PodSpecFields(&o.Spec) {
		for _, q := range s.queries {
			if offsets := q.Find(f.Value); len(offsets) > 0 {
				s.podRefs = append(s.podRefs, Reference{Query: q.Host, Object: obj,
					Field: "spec." + f.Path, Kind: f.Kind, Context: excerpt(f.Value, offsets[0], len(q.Host))})
			}
		}
	}
	for _, ip := range o.Status.PodIPs {
		s.value(obj, "status.podIPs", "pod-ip", ip.IP)
	}
}

func (s *Search) service(o *corev1.Service) {
	s.count("Service")
	obj := object("", "Service", o.Namespace, o.Name)
	s.value(obj, "spec.externalName", "externalName", o.Spec.ExternalName)
	for _, ip := range o.Spec.ExternalIPs {
		s.value(obj, "spec.externalIPs", "externalIP", ip)
	}
	s.value(obj, "spec.loadBalancerIP", "loadBalancer", o.Spec.LoadBalancerIP)
	for _, in := range o.Status.LoadBalancer.Ingress {
		s.value(obj, "status.loadBalancer.ingress", "loadBalancer", in.IP)
		s.value(obj, "status.loadBalancer.ingress", "loadBalancer", in.Hostname)
	}
	for _, ip := range o.Spec.ClusterIPs {
		if ip != corev1.ClusterIPNone {
			s.value(obj, "spec.clusterIPs", "clusterIP", ip)
		}
	}
	for _, q := range s.queries {
		if serviceName(q, o.Namespace, o.Name) {
			s.add(Reference{Query: q.Host, Object: obj, Field: "metadata.name", Kind: "service-dns", Context: o.Name + "." + o.Namespace + ".svc"})
		}
	}
}

func (s *Search) webhook(obj check.Object, name string, cc admissionv1.WebhookClientConfig) {
	if cc.URL != nil {
		s.value(obj, "webhooks["+name+"].clientConfig.url", "webhook-url", *cc.URL)
	}
	if svc := cc.Service; svc != nil {
		for _, q := range s.queries {
			if serviceName(q, svc.Namespace, svc.Name) {
				s.add(Reference{Query: q.Host, Object: obj, Field: "webhooks[" + name + "].clientConfig.service", Kind: "webhook-service",
					Context: svc.Name + "." + svc.Namespace + ".svc"})
			}
		}
	}
}

// ipBlock reports a NetworkPolicy ipBlock whose CIDR holds a searched IP
// (and does not except it). Only CIDRs of at most 256 addresses (/24, /120)
// count: 10.0.0.0/8 holds the address but does not name it.
func (s *Search) ipBlock(obj check.Object, field string, b *networkingv1.IPBlock) {
	if b == nil {
		return
	}
	p, err := netip.ParsePrefix(b.CIDR)
	if err != nil || p.Addr().BitLen()-p.Bits() > 8 {
		return
	}
	for _, q := range s.queries {
		if !q.IP.IsValid() || !p.Contains(q.IP) {
			continue
		}
		excepted := false
		for _, e := range b.Except {
			if ep, err := netip.ParsePrefix(e); err == nil && ep.Contains(q.IP) {
				excepted = true
			}
		}
		if !excepted {
			s.add(Reference{Query: q.Host, Object: obj, Field: field, Kind: "ipBlock", Context: b.CIDR})
		}
	}
}

// serviceName reports whether q is a DNS name of Service namespace/name:
// name.namespace, name.namespace.svc or name.namespace.svc.<cluster domain>.
func serviceName(q address.Query, namespace, name string) bool {
	if q.IP.IsValid() {
		return false
	}
	base := name + "." + namespace
	return q.Host == base || q.Host == base+".svc" || strings.HasPrefix(q.Host, base+".svc.")
}

// workloadOf returns the searched workload a pod belongs to (following
// ReplicaSet -> Deployment and Job -> CronJob), or its controller, or the
// pod itself.
func (s *Search) workloadOf(p *pod) check.Object {
	o := p.owner
	if o == nil {
		return object("", "Pod", p.namespace, p.name)
	}
	gv, _ := schema.ParseGroupVersion(o.APIVersion)
	switch {
	case o.Kind == "ReplicaSet" && s.rsOwner[p.namespace+"/"+o.Name] != "":
		return object("apps", "Deployment", p.namespace, s.rsOwner[p.namespace+"/"+o.Name])
	case o.Kind == "Job" && s.jobOwner[p.namespace+"/"+o.Name] != "":
		return object("batch", "CronJob", p.namespace, s.jobOwner[p.namespace+"/"+o.Name])
	}
	return object(gv.Group, o.Kind, p.namespace, o.Name)
}

// Result resolves consumers and returns the references found, sorted.
func (s *Search) Result() *Result {
	podsOf := map[check.Object][]string{}
	for i := range s.pods {
		w := s.workloadOf(&s.pods[i])
		podsOf[w] = append(podsOf[w], s.pods[i].name)
	}
	for w, names := range podsOf {
		slices.Sort(names)
		// A kind listed again after an expired continue token repeats pods.
		podsOf[w] = slices.Compact(names)
	}
	// A pod's own references count only when no searched template covers it.
	for _, r := range s.podRefs {
		var p *pod
		for i := range s.pods {
			if s.pods[i].namespace == r.Object.Namespace && s.pods[i].name == r.Object.Name {
				p = &s.pods[i]
				break
			}
		}
		if p != nil && s.workloads[s.workloadOf(p)] {
			continue
		}
		s.refs = append(s.refs, r)
	}
	// Uses by pods whose workload was not searched (bare pods, pods of
	// custom controllers).
	uses := slices.Clone(s.uses)
	for i := range s.pods {
		p := &s.pods[i]
		w := s.workloadOf(p)
		if s.workloads[w] {
			continue
		}
		for _, u := range p.uses {
			uses = append(uses, use{workload: w, namespace: p.namespace, ConfigUse: u})
		}
	}
	res := &Result{Searched: s.searched, References: []Reference{}, NotRead: s.info.Skipped}
	for _, q := range s.queries {
		res.Queries = append(res.Queries, q.Host)
	}
	seen := map[string]bool{}
	for _, r := range s.refs {
		key := r.Query + "|" + r.Object.String() + "|" + r.Field + "|" + r.Kind
		if r.Kubeconfig != nil {
			key += "|" + r.Kubeconfig.Name
		}
		if seen[key] {
			continue // a kind listed twice after an expired continue token
		}
		seen[key] = true
		r.Consumers = []Consumer{}
		switch {
		case r.Object.Group == "" && (r.Object.Kind == "ConfigMap" || r.Object.Kind == "Secret"):
			byWorkload := map[check.Object]int{}
			for _, u := range uses {
				if u.namespace != r.Object.Namespace || u.Kind != r.Object.Kind || u.Name != r.Object.Name {
					continue
				}
				if i, ok := byWorkload[u.workload]; ok {
					if !strings.Contains(r.Consumers[i].How, u.How) {
						r.Consumers[i].How += ", " + u.How
					}
					continue
				}
				byWorkload[u.workload] = len(r.Consumers)
				r.Consumers = append(r.Consumers, Consumer{Workload: u.workload, How: u.How, Pods: nonNil(podsOf[u.workload])})
			}
		case s.workloads[r.Object]:
			r.Consumers = append(r.Consumers, Consumer{Workload: r.Object, Pods: nonNil(podsOf[r.Object])})
		case r.Object.Kind == "Pod" && r.Object.Group == "":
			r.Consumers = append(r.Consumers, Consumer{Workload: r.Object, Pods: []string{r.Object.Name}})
		}
		slices.SortFunc(r.Consumers, func(a, b Consumer) int { return compareObjects(a.Workload, b.Workload) })
		res.References = append(res.References, r)
	}
	slices.SortFunc(res.References, func(a, b Reference) int {
		return cmp.Or(cmp.Compare(a.Query, b.Query), compareObjects(a.Object, b.Object), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Kind, b.Kind))
	})
	return res
}

func compareObjects(a, b check.Object) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func object(group, kind, namespace, name string) check.Object {
	return check.Object{Group: group, Kind: kind, Namespace: namespace, Name: name}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
