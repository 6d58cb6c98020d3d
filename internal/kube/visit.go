package kube

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/premortem/premortem/internal/snapshot"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Visitor receives whole objects, one at a time: *corev1.Secret,
// *appsv1.Deployment, ... (a pointer to the kind's Go type). The object is
// the visitor's only for the call; nothing keeps it after.
type Visitor func(res snapshot.Resource, obj any)

// visitSpec is how one visitable kind is listed live and decoded from a file.
type visitSpec struct {
	res    snapshot.Resource
	list   func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, each func(any)) (int, string, error)
	decode func(raw []byte) (any, error)
}

// visitable is the visitSpec of a built-in kind: T its Go type, L its list
// type.
func visitable[T any, L any, PL listPtr[L]](res snapshot.Resource) visitSpec {
	return visitSpec{
		res: res,
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, each func(any)) (int, string, error) {
			l, err := typedList[L, PL](ctx, c, res, ns, opts)
			if err != nil {
				return 0, "", err
			}
			src := itemsOf[T](l)
			for i := range src {
				each(&src[i])
			}
			return len(src), l.GetContinue(), nil
		},
		decode: func(raw []byte) (any, error) {
			t := new(T)
			if err := json.Unmarshal(raw, t); err != nil {
				return nil, err
			}
			return t, nil
		},
	}
}

// visitSpecs are the kinds a Reader or LoadVisit can stream whole to a
// Visitor: everything `premortem refs` searches.
var visitSpecs = func() map[snapshot.Resource]visitSpec {
	m := map[snapshot.Resource]visitSpec{}
	for _, v := range []visitSpec{
		visitable[corev1.ConfigMap, corev1.ConfigMapList](snapshot.ConfigMaps),
		visitable[corev1.Secret, corev1.SecretList](snapshot.Secrets),
		visitable[corev1.Pod, corev1.PodList](snapshot.Pods),
		visitable[corev1.Service, corev1.ServiceList](snapshot.Services),
		visitable[discoveryv1.EndpointSlice, discoveryv1.EndpointSliceList](snapshot.EndpointSlices),
		visitable[appsv1.Deployment, appsv1.DeploymentList](snapshot.Deployments),
		visitable[appsv1.DaemonSet, appsv1.DaemonSetList](snapshot.DaemonSets),
		visitable[appsv1.StatefulSet, appsv1.StatefulSetList](snapshot.StatefulSets),
		visitable[batchv1.Job, batchv1.JobList](snapshot.Jobs),
		visitable[batchv1.CronJob, batchv1.CronJobList](snapshot.CronJobs),
		visitable[networkingv1.Ingress, networkingv1.IngressList](snapshot.Ingresses),
		visitable[networkingv1.NetworkPolicy, networkingv1.NetworkPolicyList](snapshot.NetworkPolicies),
		visitable[admissionv1.ValidatingWebhookConfiguration, admissionv1.ValidatingWebhookConfigurationList](snapshot.ValidatingWebhookConfigurations),
		visitable[admissionv1.MutatingWebhookConfiguration, admissionv1.MutatingWebhookConfigurationList](snapshot.MutatingWebhookConfigurations),
	} {
		m[v.res] = v
	}
	return m
}()

// Visitable reports whether res can be streamed to a Visitor.
func Visitable(res snapshot.Resource) bool {
	_, ok := visitSpecs[res]
	return ok
}

// visitKind is a kindSpec that hands each object of a page to visit
// (serialised by mu) and keeps nothing: pagination, the watch-cache first
// page and retries are those of every other kind. A chain that starts again
// (its continue token expired) cannot take back what visit has seen: it
// skips the objects up to the last one visited, in the key order
// (namespace/name) in which the API server lists.
func visitKind(res snapshot.Resource, vs visitSpec, visit Visitor, mu *sync.Mutex) *kindSpec {
	var last, seen string // the key of the last object visited; of the last before a restart
	return &kindSpec{
		res: res,
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, _ interner) (page, string, error) {
			n, cont, err := vs.list(ctx, c, ns, opts, func(o any) {
				key := listKey(o)
				if seen != "" && key <= seen {
					return
				}
				last = key
				mu.Lock()
				defer mu.Unlock()
				visit(res, o)
			})
			return page{n: n}, cont, err
		},
		reset:   func(*snapshot.Snapshot) { seen = last },
		add:     func(*snapshot.Snapshot, page) {},
		objects: func(*snapshot.Snapshot, func(any) error) error { return nil },
	}
}

// listKey is where the API server sorts o in a LIST: by its storage key,
// namespace/name.
func listKey(o any) string {
	m := o.(metav1.Object)
	if m.GetNamespace() == "" {
		return m.GetName()
	}
	return m.GetNamespace() + "/" + m.GetName()
}
