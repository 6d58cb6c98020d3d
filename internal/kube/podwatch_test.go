package kube

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/snapshot"
)

// watchFrame is one event of a protobuf watch stream as the API server
// writes it: a length prefix, then a metav1.WatchEvent whose object is in
// its protobuf envelope.
func watchFrame(t *testing.T, typ watch.EventType, obj runtime.Object) []byte {
	t.Helper()
	var o bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &o); err != nil {
		t.Fatal(err)
	}
	ev := metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: o.Bytes()}}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func collectEvents(t *testing.T, w watch.Interface) []watch.Event {
	t.Helper()
	defer w.Stop()
	var out []watch.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatal("watch did not end")
		}
	}
}

// watchPods delivers what client-go's watch delivers, each pod already
// trimmed (with its resourceVersion kept for the reflector): bookmarks and
// errors decoded whole.
func TestWatchPodsAsClientGo(t *testing.T) {
	var stream []byte
	var want []watch.EventType
	for i, p := range variedPods() {
		p := p.DeepCopy()
		p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
		p.ResourceVersion = "10" + string(rune('0'+i%10))
		typ := []watch.EventType{watch.Added, watch.Modified, watch.Deleted}[i%3]
		stream = append(stream, watchFrame(t, typ, p)...)
		want = append(want, typ)
	}
	bookmark := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{ResourceVersion: "200", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	stream = append(stream, watchFrame(t, watch.Bookmark, bookmark)...)
	status := apierrors.NewResourceExpired("too old").ErrStatus
	status.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	stream = append(stream, watchFrame(t, watch.Error, &status)...)
	want = append(want, watch.Bookmark, watch.Error)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/shop/pods" || r.URL.Query().Get("watch") != "true" {
			t.Errorf("request %s", r.URL)
		}
		w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf;stream=watch")
		w.Write(stream)
	}))
	defer srv.Close()
	typed, err := kubernetes.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	c := &clients{typed: typed}
	opts := metav1.ListOptions{ResourceVersion: "1"}
	old, err := watchTyped(context.Background(), c, snapshot.Pods, "shop", opts)
	if err != nil {
		t.Fatal(err)
	}
	oldEvents := collectEvents(t, old)
	w, err := watchPods(context.Background(), c, "shop", opts)
	if err != nil {
		t.Fatal(err)
	}
	events := collectEvents(t, w)
	if len(events) != len(want) || len(oldEvents) != len(want) {
		t.Fatalf("%d events, client-go %d, want %d", len(events), len(oldEvents), len(want))
	}
	for i, ev := range events {
		o := oldEvents[i]
		if ev.Type != want[i] || o.Type != want[i] {
			t.Fatalf("event %d: %s, client-go %s, want %s", i, ev.Type, o.Type, want[i])
		}
		if p, ok := o.Object.(*corev1.Pod); ok && ev.Type != watch.Bookmark {
			wantPod := trimPod(p, nil)
			wantPod.ResourceVersion = p.ResourceVersion
			if !reflect.DeepEqual(ev.Object, &wantPod) {
				t.Errorf("event %d:\n got %#v\nwant %#v", i, ev.Object, &wantPod)
			}
			continue
		}
		if !reflect.DeepEqual(ev.Object, o.Object) {
			t.Errorf("event %d (%s):\n got %#v\nwant %#v", i, ev.Type, ev.Object, o.Object)
		}
	}
}

// A stream that is cut, oversized or not a watch event ends the watch with
// an error event, never a panic or an unbounded read.
func TestWatchPodsBadStreams(t *testing.T) {
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", ResourceVersion: "5"}}
	good := watchFrame(t, watch.Added, pod)
	tests := []struct {
		name   string
		stream []byte
		errors int // error events
	}{
		{"cut in the middle", good[:len(good)-3], 0},
		{"oversized frame", binary.BigEndian.AppendUint32(nil, maxWatchEvent+1), 1},
		{"not protobuf", append(binary.BigEndian.AppendUint32(nil, 4), 0xff, 0xff, 0xff, 0xff), 1},
		{"unknown event type", watchFrame(t, "SURPRISE", pod), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", podWatchAccept)
				w.Write(append(append([]byte(nil), good...), tt.stream...))
			}))
			defer srv.Close()
			typed, err := kubernetes.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			w, err := watchPods(context.Background(), &clients{typed: typed}, "", metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			events := collectEvents(t, w)
			if len(events) == 0 || events[0].Type != watch.Added {
				t.Fatalf("events %v: want the good event first", events)
			}
			errs := 0
			for _, ev := range events[1:] {
				if ev.Type == watch.Error {
					errs++
				}
			}
			if errs != tt.errors || len(events) != 1+tt.errors {
				t.Errorf("%d events, %d errors; want %d errors", len(events), errs, tt.errors)
			}
		})
	}
}
