package kube

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/premortem/premortem/internal/snapshot"
)

func feedOf(res snapshot.Resource) *Feed {
	return (&Feeds{}).Feed(res, true, "")
}

// Trim keeps what the LIST chain keeps, and trimming a trimmed object (a
// listed one, which the informer's transform sees again) changes nothing.
func TestFeedTrim(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
			Annotations: map[string]string{lastApplied: "{}"}},
		Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i", Args: []string{"--big"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	secret := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}}}
	apisvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io", "managedFields": []any{map[string]any{"manager": "x"}}},
		"spec":     map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "False", "reason": "MissingEndpoints"}}},
	}}
	for _, tt := range []struct {
		res  snapshot.Resource
		obj  any
		want any
	}{
		{snapshot.Pods, pod, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p"},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		{snapshot.Secrets, secret, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}}},
		{snapshot.APIServices, apisvc, &snapshot.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"},
			Service: &snapshot.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}, Group: "metrics.k8s.io", Version: "v1beta1",
			Conditions: []snapshot.APIServiceCondition{{Type: "Available", Status: "False", Reason: "MissingEndpoints"}}}},
	} {
		t.Run(tt.res.Name(), func(t *testing.T) {
			f := feedOf(tt.res)
			got, err := f.Trim(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Trim:\n got %#v\nwant %#v", got, tt.want)
			}
			again, err := f.Trim(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, tt.want) {
				t.Fatalf("Trim of a trimmed object:\n got %#v\nwant %#v", again, tt.want)
			}
		})
	}
	if _, err := feedOf(snapshot.Pods).Trim(&corev1.Node{}); err == nil {
		t.Error("Trim of a Node as a Pod: no error")
	}
}

// A Store fills a snapshot in the order a LIST returns objects, by
// namespace then name, whatever order they were stored in. (ConfigMaps are
// watched metadata-only, as a scan lists them.)
func TestStoreFillOrder(t *testing.T) {
	st := feedOf(snapshot.ConfigMaps).NewStore(nil)
	var objs []any
	for _, k := range [][2]string{{"b", "x"}, {"a-b", "z"}, {"a", "y"}, {"a", "b"}} {
		objs = append(objs, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: k[0], Name: k[1]}})
	}
	if err := st.Replace(objs, "1"); err != nil {
		t.Fatal(err)
	}
	s := &snapshot.Snapshot{}
	defer st.Fill(s)()
	var got []string
	for _, cm := range s.Metadata[snapshot.ConfigMaps] {
		got = append(got, cm.Namespace+"/"+cm.Name)
	}
	// As etcd orders keys: "a-b/..." before "a/...".
	want := []string{"a-b/z", "a/b", "a/y", "b/x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if len(s.ConfigMaps) != 0 {
		t.Fatalf("%d ConfigMaps with data from a metadata-only watch", len(s.ConfigMaps))
	}
}

// A LIST chain's objects reach a reflector as runtime.Objects with
// metadata, APIServices (no Go type of their own) included.
func TestObjectsOf(t *testing.T) {
	objs := objectsOf([]snapshot.APIService{{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}}})
	l, ok := objs[0].(*listed)
	if !ok || l.GetObjectMeta().GetName() != "v1.apps" {
		t.Fatalf("%#v", objs[0])
	}
	got, err := feedOf(snapshot.APIServices).Trim(objs[0])
	if err != nil || got.(*snapshot.APIService).Name != "v1.apps" {
		t.Fatalf("%v %v", got, err)
	}
	pods := objectsOf([]corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p"}}})
	if p, ok := pods[0].(*corev1.Pod); !ok || p.Name != "p" {
		t.Fatalf("%#v", pods[0])
	}
}

// Every kind premortem knows can be kept by a feed: custom resources read
// as JSON included, whoever adds them.
func TestEveryKindWatchable(t *testing.T) {
	for res, k := range specs {
		if k.watch == nil || k.one == nil || k.example == nil {
			t.Errorf("%s: not watchable", res.Name())
		}
	}
}
