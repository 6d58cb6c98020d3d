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
	list   func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, each func(any)) (int, string, error)
	decode func(raw []byte) (any, error)
}

func visitable[T any, L any](
	list func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*L, error),
	items func(*L) ([]T, string),
) visitSpec {
	return visitSpec{
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, each func(any)) (int, string, error) {
			l, err := list(c, ns)(ctx, opts)
			if err != nil {
				return 0, "", err
			}
			src, cont := items(l)
			for i := range src {
				each(&src[i])
			}
			return len(src), cont, nil
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
var visitSpecs = map[snapshot.Resource]visitSpec{
	snapshot.ConfigMaps: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error) {
		return c.typed.CoreV1().ConfigMaps(ns).List
	}, func(l *corev1.ConfigMapList) ([]corev1.ConfigMap, string) { return l.Items, l.Continue }),
	snapshot.Secrets: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*corev1.SecretList, error) {
		return c.typed.CoreV1().Secrets(ns).List
	}, func(l *corev1.SecretList) ([]corev1.Secret, string) { return l.Items, l.Continue }),
	snapshot.Pods: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*corev1.PodList, error) {
		return c.typed.CoreV1().Pods(ns).List
	}, func(l *corev1.PodList) ([]corev1.Pod, string) { return l.Items, l.Continue }),
	snapshot.Services: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*corev1.ServiceList, error) {
		return c.typed.CoreV1().Services(ns).List
	}, func(l *corev1.ServiceList) ([]corev1.Service, string) { return l.Items, l.Continue }),
	snapshot.EndpointSlices: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*discoveryv1.EndpointSliceList, error) {
		return c.typed.DiscoveryV1().EndpointSlices(ns).List
	}, func(l *discoveryv1.EndpointSliceList) ([]discoveryv1.EndpointSlice, string) {
		return l.Items, l.Continue
	}),
	snapshot.Deployments: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*appsv1.DeploymentList, error) {
		return c.typed.AppsV1().Deployments(ns).List
	}, func(l *appsv1.DeploymentList) ([]appsv1.Deployment, string) { return l.Items, l.Continue }),
	snapshot.DaemonSets: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*appsv1.DaemonSetList, error) {
		return c.typed.AppsV1().DaemonSets(ns).List
	}, func(l *appsv1.DaemonSetList) ([]appsv1.DaemonSet, string) { return l.Items, l.Continue }),
	snapshot.StatefulSets: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*appsv1.StatefulSetList, error) {
		return c.typed.AppsV1().StatefulSets(ns).List
	}, func(l *appsv1.StatefulSetList) ([]appsv1.StatefulSet, string) { return l.Items, l.Continue }),
	snapshot.Jobs: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*batchv1.JobList, error) {
		return c.typed.BatchV1().Jobs(ns).List
	}, func(l *batchv1.JobList) ([]batchv1.Job, string) { return l.Items, l.Continue }),
	snapshot.CronJobs: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*batchv1.CronJobList, error) {
		return c.typed.BatchV1().CronJobs(ns).List
	}, func(l *batchv1.CronJobList) ([]batchv1.CronJob, string) { return l.Items, l.Continue }),
	snapshot.Ingresses: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*networkingv1.IngressList, error) {
		return c.typed.NetworkingV1().Ingresses(ns).List
	}, func(l *networkingv1.IngressList) ([]networkingv1.Ingress, string) { return l.Items, l.Continue }),
	snapshot.NetworkPolicies: visitable(func(c *clients, ns string) func(context.Context, metav1.ListOptions) (*networkingv1.NetworkPolicyList, error) {
		return c.typed.NetworkingV1().NetworkPolicies(ns).List
	}, func(l *networkingv1.NetworkPolicyList) ([]networkingv1.NetworkPolicy, string) {
		return l.Items, l.Continue
	}),
	snapshot.ValidatingWebhookConfigurations: visitable(func(c *clients, _ string) func(context.Context, metav1.ListOptions) (*admissionv1.ValidatingWebhookConfigurationList, error) {
		return c.typed.AdmissionregistrationV1().ValidatingWebhookConfigurations().List
	}, func(l *admissionv1.ValidatingWebhookConfigurationList) ([]admissionv1.ValidatingWebhookConfiguration, string) {
		return l.Items, l.Continue
	}),
	snapshot.MutatingWebhookConfigurations: visitable(func(c *clients, _ string) func(context.Context, metav1.ListOptions) (*admissionv1.MutatingWebhookConfigurationList, error) {
		return c.typed.AdmissionregistrationV1().MutatingWebhookConfigurations().List
	}, func(l *admissionv1.MutatingWebhookConfigurationList) ([]admissionv1.MutatingWebhookConfiguration, string) {
		return l.Items, l.Continue
	}),
}

// Visitable reports whether res can be streamed to a Visitor.
func Visitable(res snapshot.Resource) bool {
	_, ok := visitSpecs[res]
	return ok
}

// visitKind is a kindSpec that hands each object of a page to visit
// (serialised by mu) and keeps nothing: pagination, the watch-cache first
// page and retries are those of every other kind.
func visitKind(res snapshot.Resource, vs visitSpec, visit Visitor, mu *sync.Mutex) *kindSpec {
	return &kindSpec{
		res: res,
		list: func(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, _ interner) (page, string, error) {
			n, cont, err := vs.list(ctx, c, ns, opts, func(o any) {
				mu.Lock()
				defer mu.Unlock()
				visit(res, o)
			})
			return page{n: n}, cont, err
		},
		add:     func(*snapshot.Snapshot, page) {},
		objects: func(*snapshot.Snapshot, func(any) error) error { return nil },
	}
}
