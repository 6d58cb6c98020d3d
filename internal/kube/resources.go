package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	"github.com/premortem/premortem/internal/snapshot"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// FullResources are the kinds read whole (then trimmed).
var FullResources = []snapshot.Resource{
	snapshot.Namespaces, snapshot.Nodes, snapshot.Pods, snapshot.Services, snapshot.EndpointSlices,
	snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs,
	snapshot.PodDisruptionBudgets, snapshot.APIServices,
	snapshot.Leases, snapshot.ClusterRoles, snapshot.ClusterRoleBindings, snapshot.FlowSchemas,
	snapshot.PriorityLevelConfigurations,
	snapshot.ValidatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations,
	snapshot.HorizontalPodAutoscalers, snapshot.ResourceQuotas, snapshot.PersistentVolumeClaims,
	snapshot.PriorityClasses, snapshot.ServiceCIDRs,
	snapshot.BGPConfigurations, snapshot.BGPPeers,
}

// MetadataResources are the kinds read metadata-only.
var MetadataResources = []snapshot.Resource{
	snapshot.ConfigMaps, snapshot.Secrets, snapshot.ServiceAccounts, snapshot.NetworkPolicies,
	snapshot.ReplicaSets, snapshot.CronJobs, snapshot.Ingresses, snapshot.CRDs, snapshot.CalicoNetworkPolicies,
}

// AllResources is everything premortem knows how to read: what `snapshot
// save` reads so that any later scan finds what it needs.
func AllResources() []snapshot.Resource {
	return append(append([]snapshot.Resource(nil), FullResources...), MetadataResources...)
}

// clients are the API clients one read uses.
type clients struct {
	typed    kubernetes.Interface // protobuf, built-in kinds
	metadata metadata.Interface   // PartialObjectMetadata, protobuf
	rest     rest.Interface       // raw requests (JSON) for kinds without Go types here
	dynamic  dynamic.Interface    // watches of kinds without Go types here (watch.go); nil in a Reader
	// streams are the clients of watches (watch.go), without the
	// client-wide timeout that bounds every other request.
	streams *clients
}

// page is one trimmed page of a kind, boxed ([]corev1.Pod, ...).
type page struct {
	items any
	n     int
	// remaining is the server's remainingItemCount after this page, when
	// it says (0 when unknown).
	remaining int64
	// rv is the list's resourceVersion: where a watch of the kind starts.
	rv string
	// bytes is the size of the page's answer, when the kind's list counts
	// it (0 otherwise): only then may its later pages grow (List).
	bytes int64
}

// kindSpec is how premortem reads, decodes, stores and saves one kind.
type kindSpec struct {
	res      snapshot.Resource
	metadata bool
	// list fetches one page live and trims it.
	list func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, in interner) (page, string, error)
	// decode trims one object read from a file (JSON bytes).
	decode func(raw []byte, in interner) (page, error)
	// add appends a page to the snapshot.
	add func(s *snapshot.Snapshot, p page)
	// grow, when set, makes room for n more objects before a live read adds
	// them; reset, when set, removes what a live read of the kind added
	// (the kind is listed again, or could not be read whole).
	grow  func(s *snapshot.Snapshot, n int)
	reset func(s *snapshot.Snapshot)
	// objects calls emit with each object of the kind in s, apiVersion and
	// kind set, ready to be written to a snapshot file.
	objects func(s *snapshot.Snapshot, emit func(any) error) error
	// one trims one object the way list trims a page's (watch.go): a
	// watched object, or one a list already trimmed (trimming is
	// idempotent); nil when o is not of the kind.
	one func(o any, in interner) any
	// watch opens a watch of the kind (watch.go); example is the type of
	// the objects it delivers.
	watch   func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error)
	example runtime.Object
}

// narrowed makes every live read of k, LIST and watch, ask for the objects
// a field selector selects, beside any selector of the read's own.
func narrowed(k *kindSpec, fieldSelector string) *kindSpec {
	with := func(opts metav1.ListOptions) metav1.ListOptions {
		if opts.FieldSelector == "" {
			opts.FieldSelector = fieldSelector
		} else {
			opts.FieldSelector += "," + fieldSelector
		}
		return opts
	}
	list, open := k.list, k.watch
	k.list = func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, in interner) (page, string, error) {
		return list(ctx, c, ns, with(opts), in)
	}
	k.watch = func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error) {
		return open(ctx, c, ns, with(opts))
	}
	return k
}

type objectPtr[T any] interface {
	*T
	metav1.Object
	runtime.Object
}

type listPtr[L any] interface {
	*L
	metav1.ListInterface
	runtime.Object
}

// typedList lists one page of a built-in kind, L its list type, through the
// REST client of its group, protobuf unless the configuration says
// otherwise: what the typed clientset does, without a method per kind.
func typedList[L any, PL listPtr[L]](ctx context.Context, c *clients, res snapshot.Resource, ns string, opts metav1.ListOptions) (PL, error) {
	req, err := c.listRequest(res, ns, opts)
	if err != nil {
		return nil, err
	}
	l := PL(new(L))
	err = req.Do(ctx).Into(l)
	return l, err
}

// listRequest is the request of one LIST page of a built-in kind.
func (c *clients) listRequest(res snapshot.Resource, ns string, opts metav1.ListOptions) (*rest.Request, error) {
	rc, err := c.restFor(res)
	if err != nil {
		return nil, err
	}
	return rc.Get().UseProtobufAsDefault().Namespace(ns).Resource(res.Resource).
		VersionedParams(&opts, scheme.ParameterCodec), nil
}

// restFor returns the typed clientset's REST client of res's group version.
func (c *clients) restFor(res snapshot.Resource) (rest.Interface, error) {
	gv := schema.GroupVersion{Group: res.Group, Version: res.Version}.String()
	rc, ok := groupClients[gv]
	if !ok {
		return nil, fmt.Errorf("kube: no typed client for %s", gv)
	}
	return rc(c.typed), nil
}

// groupClients are the group versions of the built-in kinds premortem reads.
var groupClients = map[string]func(kubernetes.Interface) rest.Interface{
	"v1":                              func(t kubernetes.Interface) rest.Interface { return t.CoreV1().RESTClient() },
	"apps/v1":                         func(t kubernetes.Interface) rest.Interface { return t.AppsV1().RESTClient() },
	"batch/v1":                        func(t kubernetes.Interface) rest.Interface { return t.BatchV1().RESTClient() },
	"policy/v1":                       func(t kubernetes.Interface) rest.Interface { return t.PolicyV1().RESTClient() },
	"discovery.k8s.io/v1":             func(t kubernetes.Interface) rest.Interface { return t.DiscoveryV1().RESTClient() },
	"networking.k8s.io/v1":            func(t kubernetes.Interface) rest.Interface { return t.NetworkingV1().RESTClient() },
	"coordination.k8s.io/v1":          func(t kubernetes.Interface) rest.Interface { return t.CoordinationV1().RESTClient() },
	"rbac.authorization.k8s.io/v1":    func(t kubernetes.Interface) rest.Interface { return t.RbacV1().RESTClient() },
	"flowcontrol.apiserver.k8s.io/v1": func(t kubernetes.Interface) rest.Interface { return t.FlowcontrolV1().RESTClient() },
	"admissionregistration.k8s.io/v1": func(t kubernetes.Interface) rest.Interface { return t.AdmissionregistrationV1().RESTClient() },
	"autoscaling/v2":                  func(t kubernetes.Interface) rest.Interface { return t.AutoscalingV2().RESTClient() },
	"scheduling.k8s.io/v1":            func(t kubernetes.Interface) rest.Interface { return t.SchedulingV1().RESTClient() },
}

// itemsOf returns a typed list's Items: every list type of k8s.io/api has
// them, and no interface says so.
func itemsOf[T any](l any) []T {
	return reflect.ValueOf(l).Elem().FieldByName("Items").Interface().([]T)
}

// fullKind builds the spec of a built-in kind read whole (then trimmed): T
// its Go type, L its list type.
func fullKind[T any, L any, PT objectPtr[T], PL listPtr[L]](
	res snapshot.Resource,
	trim func(*T, interner) T,
	field func(*snapshot.Snapshot) *[]T,
) *kindSpec {
	if trim == nil {
		trim = func(t *T, _ interner) T {
			trimMeta(metaOf(PT(t)))
			// Items of a live list carry no apiVersion/kind; objects from
			// files do. Clear it so both read the same.
			PT(t).GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
			return *t
		}
	}
	gvk := schema.GroupVersionKind{Group: res.Group, Version: res.Version, Kind: res.Kind}
	return &kindSpec{
		res: res,
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, in interner) (page, string, error) {
			l, err := typedList[L, PL](ctx, c, res, ns, opts)
			if err != nil {
				return page{}, "", err
			}
			src := itemsOf[T](l)
			out := make([]T, len(src))
			for i := range src {
				out[i] = trim(&src[i], in)
			}
			return page{items: out, n: len(out), remaining: remainingOf(l), rv: l.GetResourceVersion()}, l.GetContinue(), nil
		},
		decode: func(raw []byte, in interner) (page, error) {
			var t T
			if err := json.Unmarshal(raw, &t); err != nil {
				return page{}, err
			}
			return page{items: []T{trim(&t, in)}, n: 1}, nil
		},
		add: func(s *snapshot.Snapshot, p page) {
			f := field(s)
			if *f == nil {
				// The page's own slice: a second copy of a large kind is
				// what an agent's evaluation would otherwise allocate.
				*f = p.items.([]T)
				return
			}
			*f = append(*f, p.items.([]T)...)
		},
		grow: func(s *snapshot.Snapshot, n int) {
			f := field(s)
			*f = slices.Grow(*f, n)
		},
		reset: func(s *snapshot.Snapshot) { *field(s) = nil },
		one: func(o any, in interner) any {
			t, ok := o.(PT)
			if !ok {
				return nil
			}
			v := trim((*T)(t), in)
			return &v
		},
		watch: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error) {
			return watchTyped(ctx, c, res, ns, opts)
		},
		example: PT(new(T)),
		objects: func(s *snapshot.Snapshot, emit func(any) error) error {
			for _, t := range *field(s) {
				PT(&t).GetObjectKind().SetGroupVersionKind(gvk)
				if err := emit(&t); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// watchTyped opens a watch of a built-in kind through the REST client of
// its group, protobuf unless the configuration says otherwise.
func watchTyped(ctx context.Context, c *clients, res snapshot.Resource, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	req, err := c.listRequest(res, ns, opts)
	if err != nil {
		return nil, err
	}
	return req.Watch(ctx)
}

// remainingOf returns a typed list's remainingItemCount, or 0.
func remainingOf(l any) int64 {
	if li, ok := l.(metav1.ListInterface); ok {
		if r := li.GetRemainingItemCount(); r != nil {
			return *r
		}
	}
	return 0
}

// metaOf returns the ObjectMeta behind o, for in-place trimming.
func metaOf(o metav1.Object) *metav1.ObjectMeta {
	if a, ok := o.(interface{ GetObjectMeta() metav1.Object }); ok {
		if m, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return m
		}
	}
	// Every k8s.io/api type embeds ObjectMeta; this is unreachable for them.
	panic(fmt.Sprintf("kube: %T has no ObjectMeta", o))
}

// metadataKind builds the spec of a kind read metadata-only. It works for any
// resource the server serves, so a check may read kinds premortem has no Go
// types for.
func metadataKind(res snapshot.Resource) *kindSpec {
	gvr := schema.GroupVersionResource{Group: res.Group, Version: res.Version, Resource: res.Resource}
	apiVersion := schema.GroupVersion{Group: res.Group, Version: res.Version}.String()
	return &kindSpec{
		res:      res,
		metadata: true,
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, in interner) (page, string, error) {
			l, err := c.metadata.Resource(gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				return page{}, "", err
			}
			// The page's size (its protobuf encoding, as sent) lets a long
			// chain's pages grow (List): metadata is small, and a page is
			// held whole only while it is trimmed.
			size := int64(l.Size())
			out := make([]metav1.PartialObjectMetadata, len(l.Items))
			for i := range l.Items {
				out[i] = trimPartialInterned(&l.Items[i], in)
			}
			return page{items: out, n: len(out), remaining: remainingOf(l), rv: l.ResourceVersion, bytes: size}, l.Continue, nil
		},
		decode: func(raw []byte, in interner) (page, error) {
			// Only metadata is decoded: a Secret's data never reaches memory
			// beyond the raw bytes of the file being read.
			var p struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return page{}, err
			}
			o := metav1.PartialObjectMetadata{ObjectMeta: p.Metadata}
			return page{items: []metav1.PartialObjectMetadata{trimPartialInterned(&o, in)}, n: 1}, nil
		},
		add: func(s *snapshot.Snapshot, p page) {
			if s.Metadata == nil {
				s.Metadata = map[snapshot.Resource][]metav1.PartialObjectMetadata{}
			}
			items := p.items.([]metav1.PartialObjectMetadata)
			if s.Metadata[res] == nil {
				s.Metadata[res] = items // as fullKind's add
				return
			}
			s.Metadata[res] = append(s.Metadata[res], items...)
		},
		grow: func(s *snapshot.Snapshot, n int) {
			if s.Metadata == nil {
				s.Metadata = map[snapshot.Resource][]metav1.PartialObjectMetadata{}
			}
			s.Metadata[res] = slices.Grow(s.Metadata[res], n)
		},
		reset: func(s *snapshot.Snapshot) { delete(s.Metadata, res) },
		one: func(o any, in interner) any {
			p, ok := o.(*metav1.PartialObjectMetadata)
			if !ok {
				return nil
			}
			v := trimPartialInterned(p, in)
			return &v
		},
		watch: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error) {
			return c.metadata.Resource(gvr).Namespace(ns).Watch(ctx, opts)
		},
		example: &metav1.PartialObjectMetadata{},
		objects: func(s *snapshot.Snapshot, emit func(any) error) error {
			for _, o := range s.Metadata[res] {
				o.TypeMeta = metav1.TypeMeta{APIVersion: apiVersion, Kind: res.Kind}
				if err := emit(&o); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func trimPartialInterned(p *metav1.PartialObjectMetadata, in interner) metav1.PartialObjectMetadata {
	out := trimPartial(p)
	out.Namespace = in.str(out.Namespace)
	out.Labels = in.labels(out.Labels)
	out.TypeMeta = metav1.TypeMeta{}
	return out
}

// apiServiceObject is the wire form of the APIService fields premortem keeps.
type apiServiceObject struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Service *snapshot.ServiceReference `json:"service,omitempty"`
		Group   string                     `json:"group,omitempty"`
		Version string                     `json:"version,omitempty"`
	} `json:"spec"`
	Status struct {
		Conditions []snapshot.APIServiceCondition `json:"conditions,omitempty"`
	} `json:"status"`
}

func (o *apiServiceObject) snapshot() snapshot.APIService {
	trimMeta(&o.Metadata)
	return snapshot.APIService{ObjectMeta: o.Metadata, Service: o.Spec.Service, Group: o.Spec.Group, Version: o.Spec.Version, Conditions: o.Status.Conditions}
}

// apiServiceKind reads APIServices as JSON through a raw request: their Go
// types live in k8s.io/kube-aggregator, a large module for four fields.
func apiServiceKind() *kindSpec {
	res := snapshot.APIServices
	return &kindSpec{
		res: res,
		list: func(ctx context.Context, c *clients, _ string, opts metav1.ListOptions, _ interner) (page, string, error) {
			meta, items, err := jsonList[apiServiceObject](ctx, c, res, opts)
			if err != nil {
				return page{}, "", err
			}
			out := make([]snapshot.APIService, len(items))
			for i := range items {
				out[i] = items[i].snapshot()
			}
			return page{items: out, n: len(out), rv: meta.ResourceVersion}, meta.Continue, nil
		},
		decode: func(raw []byte, _ interner) (page, error) {
			var o apiServiceObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return page{}, err
			}
			return page{items: []snapshot.APIService{o.snapshot()}, n: 1}, nil
		},
		add: func(s *snapshot.Snapshot, p page) {
			s.APIServices = append(s.APIServices, p.items.([]snapshot.APIService)...)
		},
		objects: func(s *snapshot.Snapshot, emit func(any) error) error {
			for _, a := range s.APIServices {
				o := apiServiceObject{TypeMeta: metav1.TypeMeta{APIVersion: res.Group + "/" + res.Version, Kind: res.Kind}, Metadata: a.ObjectMeta}
				o.Spec.Service, o.Spec.Group, o.Spec.Version = a.Service, a.Group, a.Version
				o.Status.Conditions = a.Conditions
				if err := emit(&o); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// specs is the registry of kinds with Go types, by resource.
var specs = func() map[snapshot.Resource]*kindSpec {
	m := map[snapshot.Resource]*kindSpec{}
	for _, k := range []*kindSpec{
		fullKind[corev1.Namespace, corev1.NamespaceList](snapshot.Namespaces, nil, func(s *snapshot.Snapshot) *[]corev1.Namespace { return &s.Namespaces }),
		fullKind[corev1.Node, corev1.NodeList](snapshot.Nodes, trimNode, func(s *snapshot.Snapshot) *[]corev1.Node { return &s.Nodes }),
		podKind(),
		fullKind[corev1.Service, corev1.ServiceList](snapshot.Services, nil, func(s *snapshot.Snapshot) *[]corev1.Service { return &s.Services }),
		fullKind[discoveryv1.EndpointSlice, discoveryv1.EndpointSliceList](snapshot.EndpointSlices, nil, func(s *snapshot.Snapshot) *[]discoveryv1.EndpointSlice { return &s.EndpointSlices }),
		fullKind[appsv1.Deployment, appsv1.DeploymentList](snapshot.Deployments, trimDeployment, func(s *snapshot.Snapshot) *[]appsv1.Deployment { return &s.Deployments }),
		fullKind[appsv1.DaemonSet, appsv1.DaemonSetList](snapshot.DaemonSets, trimDaemonSet, func(s *snapshot.Snapshot) *[]appsv1.DaemonSet { return &s.DaemonSets }),
		fullKind[appsv1.StatefulSet, appsv1.StatefulSetList](snapshot.StatefulSets, trimStatefulSet, func(s *snapshot.Snapshot) *[]appsv1.StatefulSet { return &s.StatefulSets }),
		fullKind[batchv1.Job, batchv1.JobList](snapshot.Jobs, trimJob, func(s *snapshot.Snapshot) *[]batchv1.Job { return &s.Jobs }),
		fullKind[policyv1.PodDisruptionBudget, policyv1.PodDisruptionBudgetList](snapshot.PodDisruptionBudgets, nil, func(s *snapshot.Snapshot) *[]policyv1.PodDisruptionBudget { return &s.PodDisruptionBudgets }),
		apiServiceKind(),
		fullKind[admissionregistrationv1.ValidatingWebhookConfiguration, admissionregistrationv1.ValidatingWebhookConfigurationList](snapshot.ValidatingWebhookConfigurations, nil,
			func(s *snapshot.Snapshot) *[]admissionregistrationv1.ValidatingWebhookConfiguration {
				return &s.ValidatingWebhookConfigurations
			}),
		fullKind[admissionregistrationv1.MutatingWebhookConfiguration, admissionregistrationv1.MutatingWebhookConfigurationList](snapshot.MutatingWebhookConfigurations, nil,
			func(s *snapshot.Snapshot) *[]admissionregistrationv1.MutatingWebhookConfiguration {
				return &s.MutatingWebhookConfigurations
			}),
		fullKind[autoscalingv2.HorizontalPodAutoscaler, autoscalingv2.HorizontalPodAutoscalerList](snapshot.HorizontalPodAutoscalers, nil,
			func(s *snapshot.Snapshot) *[]autoscalingv2.HorizontalPodAutoscaler {
				return &s.HorizontalPodAutoscalers
			}),
		fullKind[corev1.ResourceQuota, corev1.ResourceQuotaList](snapshot.ResourceQuotas, nil, func(s *snapshot.Snapshot) *[]corev1.ResourceQuota { return &s.ResourceQuotas }),
		fullKind[corev1.PersistentVolumeClaim, corev1.PersistentVolumeClaimList](snapshot.PersistentVolumeClaims, nil,
			func(s *snapshot.Snapshot) *[]corev1.PersistentVolumeClaim { return &s.PersistentVolumeClaims }),
		fullKind[schedulingv1.PriorityClass, schedulingv1.PriorityClassList](snapshot.PriorityClasses, nil, func(s *snapshot.Snapshot) *[]schedulingv1.PriorityClass { return &s.PriorityClasses }),
		fullKind[networkingv1.ServiceCIDR, networkingv1.ServiceCIDRList](snapshot.ServiceCIDRs, nil, func(s *snapshot.Snapshot) *[]networkingv1.ServiceCIDR { return &s.ServiceCIDRs }),
	} {
		m[k.res] = k
	}
	for _, r := range MetadataResources {
		m[r] = metadataKind(r)
	}
	for _, k := range calicoKinds() {
		m[k.res] = k
	}
	// ConfigMaps are read whole (controlplane.go), replacing the
	// metadata-only read.
	for _, k := range controlPlaneKinds() {
		m[k.res] = k
	}
	for _, k := range m {
		if k.watch == nil {
			watchAsJSON(k)
		}
	}
	return m
}()

// liveSpecFor is specFor for a live read or watch: ConfigMaps are read
// metadata-only, and the data of the ones checks open by name once the
// workloads are read (configmapdata.go).
func liveSpecFor(res snapshot.Resource) *kindSpec {
	if res == snapshot.ConfigMaps {
		return metadataKind(snapshot.ConfigMaps)
	}
	return specFor(res)
}

// specFor returns how to read res: its registered spec, or a metadata-only
// read for a resource premortem has no Go types for.
func specFor(res snapshot.Resource) *kindSpec {
	if s, ok := specs[res]; ok {
		return s
	}
	return metadataKind(res)
}
