package kube

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/premortem/premortem/internal/snapshot"
)

func storePod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Spec: corev1.PodSpec{NodeName: node}}
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name+"@"+p.Spec.NodeName)
	}
	return out
}

// A Store holds what an informer's cache would, trimmed, and fills a
// snapshot in a LIST's order with its own slice.
func TestStore(t *testing.T) {
	changes := 0
	s := feedOf(snapshot.Pods).NewStore(func() { changes++ })
	if s.Synced() {
		t.Fatal("synced before Replace")
	}
	for _, objs := range [][]any{nil, {}} { // a kind with no objects
		if err := s.Replace(objs, "1"); err != nil {
			t.Fatal(err)
		}
		snap := &snapshot.Snapshot{}
		s.Fill(snap)()
		if snap.Pods != nil {
			t.Fatalf("Fill of an empty store: %v", snap.Pods)
		}
	}
	changes = 0
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"replace", func() error {
			return s.Replace([]any{storePod("b", "p1", "n1"), storePod("a", "p2", "n1"), storePod("a", "p1", "n1")}, "10")
		}, []string{"a/p1@n1", "a/p2@n1", "b/p1@n1"}},
		{"add", func() error { return s.Add(storePod("a", "p0", "n2")) }, []string{"a/p0@n2", "a/p1@n1", "a/p2@n1", "b/p1@n1"}},
		{"update in place", func() error { return s.Update(storePod("a", "p2", "n3")) }, []string{"a/p0@n2", "a/p1@n1", "a/p2@n3", "b/p1@n1"}},
		{"delete moves the last", func() error { return s.Delete(storePod("a", "p0", "")) }, []string{"a/p1@n1", "a/p2@n3", "b/p1@n1"}},
		{"delete a tombstone", func() error {
			return s.Delete(cache.DeletedFinalStateUnknown{Key: "a/p1", Obj: storePod("a", "p1", "")})
		}, []string{"a/p2@n3", "b/p1@n1"}},
		{"delete an unknown object", func() error { return s.Delete(storePod("z", "z", "")) }, []string{"a/p2@n3", "b/p1@n1"}},
		{"add one already there", func() error { return s.Add(storePod("b", "p1", "n4")) }, []string{"a/p2@n3", "b/p1@n4"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		snap := &snapshot.Snapshot{}
		release := s.Fill(snap)
		got := podNames(snap.Pods)
		if len(snap.Pods) > 0 && len(snap.Pods[0].ManagedFields) != 0 {
			t.Errorf("%s: not trimmed", st.name)
		}
		if cap(snap.Pods) != len(snap.Pods) {
			t.Errorf("%s: the snapshot may append into the store (cap %d, len %d)", st.name, cap(snap.Pods), len(snap.Pods))
		}
		same := len(snap.Pods) > 0 && &snap.Pods[0] == &s.items.Interface().([]corev1.Pod)[0]
		release()
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: %q, want %q", st.name, got, st.want)
		}
		if !same {
			t.Errorf("%s: the snapshot holds a copy, not the store's objects", st.name)
		}
		if s.Len() != len(st.want) {
			t.Errorf("%s: Len %d, want %d", st.name, s.Len(), len(st.want))
		}
	}
	if !s.Synced() {
		t.Error("not synced after Replace")
	}
	if want := 6; changes != want { // the unknown delete changes nothing
		t.Errorf("%d changes notified, want %d", changes, want)
	}
	if got := s.PerNamespace(); got["a"] != 1 || got["b"] != 1 || len(got) != 2 {
		t.Errorf("PerNamespace = %v", got)
	}
}

// Len and Synced answer while an evaluation holds the store and a watch
// waits for it: /readyz and /metrics must not wait for the evaluation.
func TestStoreCountsWhileHeld(t *testing.T) {
	s := feedOf(snapshot.Pods).NewStore(nil)
	if err := s.Replace([]any{storePod("a", "p", "n")}, "1"); err != nil {
		t.Fatal(err)
	}
	release := s.Fill(&snapshot.Snapshot{})
	added := make(chan struct{})
	go func() {
		_ = s.Add(storePod("a", "q", "n")) // waits for release
		close(added)
	}()
	time.Sleep(50 * time.Millisecond) // let the writer queue for the lock
	answered := make(chan struct{})
	go func() {
		_, _ = s.Len(), s.Synced()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("Len and Synced waited for the held store")
	}
	release()
	<-added
	if s.Len() != 2 {
		t.Errorf("Len %d after the add, want 2", s.Len())
	}
}
