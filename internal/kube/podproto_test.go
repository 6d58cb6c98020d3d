package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/premortem/premortem/internal/sizelimit"
	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/randfill"
)

// podPageBody is a page as the API server sends it: the protobuf magic and
// a runtime.Unknown around the PodList.
func podPageBody(t testing.TB, l *corev1.PodList) []byte {
	t.Helper()
	l = l.DeepCopy()
	l.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(l, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// trimmedOfficially is what the live read kept before podproto.go: the
// generated decoder's PodList, each pod through trimPod.
func trimmedOfficially(t testing.TB, body []byte, in interner) ([]corev1.Pod, metav1.ListMeta) {
	t.Helper()
	l := &corev1.PodList{}
	if _, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(body, nil, l); err != nil {
		t.Fatal(err)
	}
	pods := make([]corev1.Pod, 0, len(l.Items))
	for i := range l.Items {
		pods = append(pods, trimPod(&l.Items[i], in))
	}
	return pods, l.ListMeta
}

// assertSameAsTrimPod decodes body both ways and wants the same pods and
// list metadata.
func assertSameAsTrimPod(t *testing.T, body []byte) {
	t.Helper()
	want, wantMeta := trimmedOfficially(t, body, interner{})
	var d podDecoder
	got, meta, err := d.page(body, interner{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("pod %d:\ndecoded %s\ntrimPod %s", i, fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]))
			}
		}
		t.Fatalf("decoded %d pods, trimPod %d", len(got), len(want))
	}
	if meta.Continue != wantMeta.Continue || meta.ResourceVersion != wantMeta.ResourceVersion ||
		!reflect.DeepEqual(meta.RemainingItemCount, wantMeta.RemainingItemCount) {
		t.Errorf("list meta %+v, want %+v", meta, wantMeta)
	}
	// The same, a byte at a time, as a slow connection delivers it.
	pr := &podPageReader{br: bufio.NewReaderSize(nil, 16)}
	pg, cont, err := pr.decode(iotest.OneByteReader(bytes.NewReader(body)), int64(len(body)), interner{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pg.items, want) && !(len(want) == 0 && pg.n == 0) || cont != wantMeta.Continue || pg.bytes != int64(len(body)) {
		t.Errorf("read a byte at a time: %d pods, continue %q, %d bytes; want %d, %q, %d", pg.n, cont, pg.bytes, len(want), wantMeta.Continue, len(body))
	}
}

var podTime = metav1.NewTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))

// variedPods cover every field trimPod keeps, each set, unset and empty.
func variedPods() []corev1.Pod {
	msg := "back-off 5m0s restarting failed container"
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: podTime}}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: msg}}
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9, Reason: "OOMKilled",
		Message: "out of memory", StartedAt: podTime, FinishedAt: podTime, ContainerID: "containerd://abc"}}
	pods := []corev1.Pod{
		{},
		{ObjectMeta: metav1.ObjectMeta{Name: "only-name"}},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "u-1", ResourceVersion: "77", Generation: 3,
				Labels:      map[string]string{"app": "web", "": "empty-key", "empty-value": ""},
				Annotations: map[string]string{lastApplied: "{}", "keep": "me"}, Finalizers: []string{"x"},
				OwnerReferences: []metav1.OwnerReference{
					{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", UID: "rs-1", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)},
					{APIVersion: "v1", Kind: "Node", Name: "n1"},
				},
				CreationTimestamp: podTime, DeletionTimestamp: &podTime, DeletionGracePeriodSeconds: ptr.To[int64](30),
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", FieldsV1: metav1.NewFieldsV1(`{"f:status":{}}`)}},
			},
			Spec: corev1.PodSpec{
				NodeName: "node-1", PriorityClassName: "high", Priority: ptr.To[int32](1000), ServiceAccountName: "web", HostNetwork: true,
				InitContainers: []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"sh"}}},
				Containers: []corev1.Container{
					{Name: "app", Image: "web:1", Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
						Resources:     corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
						LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}},
					{Name: "sidecar"},
				},
				Volumes:     []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}},
			},
			Status: corev1.PodStatus{
				Phase: corev1.PodRunning, Reason: "Evicted", Message: "dropped", HostIP: "10.0.0.1", StartTime: &podTime,
				Conditions: []corev1.PodCondition{
					{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: msg,
						LastProbeTime: podTime, LastTransitionTime: podTime, ObservedGeneration: 3},
					{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				},
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", Image: "busybox", State: terminated}},
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, RestartCount: 4, Image: "web:1", ImageID: "sha256:1", State: running, LastTerminationState: terminated, Started: ptr.To(true)},
					{Name: "sidecar", State: waiting, LastTerminationState: running},
				},
			},
		},
		// Set to zero values that protobuf still sends.
		{Spec: corev1.PodSpec{Priority: ptr.To[int32](0), Containers: []corev1.Container{{}}},
			Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{}}, ContainerStatuses: []corev1.ContainerStatus{{}}},
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}, OwnerReferences: []metav1.OwnerReference{{}}}},
	}
	for i := range 6 {
		pods = append(pods, benchPod(i))
	}
	return pods
}

func TestPodPageDecodesAsTrimPod(t *testing.T) {
	rem := int64(12345)
	tests := []struct {
		name string
		list corev1.PodList
	}{
		{name: "empty page"},
		{name: "list metadata only", list: corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "99", Continue: "tok", RemainingItemCount: &rem}}},
		{name: "zero remaining", list: corev1.PodList{ListMeta: metav1.ListMeta{RemainingItemCount: ptr.To[int64](0)}}},
		{name: "varied pods", list: corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "5", Continue: "c"}, Items: variedPods()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertSameAsTrimPod(t, podPageBody(t, &tt.list))
		})
	}
}

// randomPod fills every field of a pod, the ones trimPod drops included.
func randomPod(f *randfill.Filler) corev1.Pod {
	var p corev1.Pod
	f.Fill(&p)
	return p
}

func newPodFiller(seed int64) *randfill.Filler {
	return randfill.NewWithSeed(seed).NilChance(0.2).NumElements(0, 3).MaxDepth(12).Funcs(
		// Quantities have only unexported fields; fill them as values.
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(c.Int63n(1000), resource.DecimalSI)
		},
		func(t *metav1.Time, c randfill.Continue) {
			// Whole seconds since 1970..2100: the wire form's range.
			*t = metav1.Unix(c.Int63n(4102444800), 0)
		},
	)
}

func TestRandomPodPagesDecodeAsTrimPod(t *testing.T) {
	for seed := range int64(40) {
		f := newPodFiller(seed)
		var l corev1.PodList
		f.Fill(&l.ListMeta)
		for range 5 {
			l.Items = append(l.Items, randomPod(f))
		}
		// Repeat pods so that the interner's shared values are hit too.
		l.Items = append(l.Items, l.Items...)
		assertSameAsTrimPod(t, podPageBody(t, &l))
	}
}

// The decoder finds the maps and lists trimPod interned under the same
// keys: with one interner, both return the very same values.
func TestPodPageSharesWhatTrimPodInterned(t *testing.T) {
	l := &corev1.PodList{Items: variedPods()}
	body := podPageBody(t, l)
	in := interner{}
	want, _ := trimmedOfficially(t, body, in)
	before := len(in)
	var d podDecoder
	got, _, err := d.page(body, in)
	if err != nil {
		t.Fatal(err)
	}
	// Only the names of pods are not interned; nothing else is new.
	if len(in) != before {
		t.Errorf("the decoder added %d interned values to the %d trimPod did", len(in)-before, before)
	}
	same := func(a, b any) bool {
		va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
		return va.IsNil() && vb.IsNil() || va.UnsafePointer() == vb.UnsafePointer()
	}
	for i := range got {
		if !same(got[i].Labels, want[i].Labels) || !same(got[i].OwnerReferences, want[i].OwnerReferences) ||
			!same(got[i].Spec.Containers, want[i].Spec.Containers) || !same(got[i].Spec.InitContainers, want[i].Spec.InitContainers) {
			t.Errorf("pod %d: labels, owners or containers not shared with trimPod's", i)
		}
	}
}

func TestPodPageNotProtobuf(t *testing.T) {
	status := podPageBody(t, &corev1.PodList{})
	status = bytes.Replace(status, []byte("PodList"), []byte("Status!"), 1)
	for name, body := range map[string][]byte{
		"json":         []byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`),
		"empty":        nil,
		"magic only":   []byte("k8s\x00"),
		"other kind":   status,
		"other prefix": []byte("k8s\x01\x0a\x00"),
	} {
		t.Run(name, func(t *testing.T) {
			var d podDecoder
			if _, _, err := d.page(body, interner{}); err != errNotPodList {
				t.Errorf("err %v, want errNotPodList", err)
			}
		})
	}
}

func TestPodPageMalformed(t *testing.T) {
	body := podPageBody(t, &corev1.PodList{Items: variedPods()[2:3]})
	for n := len(protobufMagic) + 1; n < len(body); n += 7 {
		var d podDecoder
		if _, _, err := d.page(body[:n], interner{}); err == nil {
			// Cut at a field boundary of the envelope, the page is
			// shorter, never a panic; the generated code must agree.
			l := &corev1.PodList{}
			if _, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(body[:n], nil, l); err != nil {
				t.Errorf("cut at %d: decoded, the generated code says %v", n, err)
			}
		}
	}
	if strings.Contains(string(body), "\x00labels") {
		t.Fatal("test pods must not look like interner keys")
	}
}

// Labels, owners and containers trimPod interned are found by the key built
// from the wire views, without allocating: the keys are the interner's.
func TestPodDecoderFindsInternedWithoutAllocating(t *testing.T) {
	p := variedPods()[2]
	in := interner{}
	trimPod(&p, in)
	d := podDecoder{in: in}
	var labels []labelView
	for k, v := range p.Labels {
		labels = append(labels, labelView{[]byte(k), []byte(v)})
	}
	var owners []ownerView
	for _, o := range p.OwnerReferences {
		owners = append(owners, ownerView{apiVersion: []byte(o.APIVersion), kind: []byte(o.Kind), name: []byte(o.Name), uid: []byte(o.UID),
			controller: optionalBit(o.Controller), block: optionalBit(o.BlockOwnerDeletion)})
	}
	var containers []containerView
	for _, c := range p.Spec.Containers {
		containers = append(containers, containerView{[]byte(c.Name), []byte(c.Image)})
	}
	for name, find := range map[string]func(){
		"labels":     func() { d.labels = append(d.labels[:0], labels...); d.labelMap() },
		"owners":     func() { d.owners = append(d.owners[:0], owners...); d.ownerRefs() },
		"containers": func() { d.containerList(containers) },
		"namespace":  func() { d.str([]byte(p.Namespace)) },
	} {
		if n := testing.AllocsPerRun(5, find); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

func optionalBit(b *bool) int8 {
	if b == nil {
		return -1
	}
	return bit(map[bool]uint64{true: 1}[*b])
}

// FuzzPodPage: any body decodes without a panic, allocates in proportion
// to its size, and what decodes agrees with the generated code and trimPod.
func FuzzPodPage(f *testing.F) {
	f.Add(podPageBody(f, &corev1.PodList{Items: variedPods()[:4], ListMeta: metav1.ListMeta{Continue: "c", RemainingItemCount: ptr.To[int64](3)}}))
	f.Add(podPageBody(f, &corev1.PodList{Items: variedPods()[4:5]}))
	f.Add(podPageBody(f, &corev1.PodList{}))
	f.Add([]byte("k8s\x00"))
	f.Add([]byte("k8s\x00\x12\x04\x12\x02\x12\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var d podDecoder
		got, meta, err := d.page(body, interner{})
		runtime.ReadMemStats(&after)
		// An empty pod is two bytes of input and a 1 KB corev1.Pod out,
		// as with the generated code.
		if n := after.TotalAlloc - before.TotalAlloc; n > 2048*uint64(len(body))+1<<20 {
			t.Errorf("%d bytes allocated for %d bytes of input", n, len(body))
		}
		if err != nil {
			return
		}
		l := &corev1.PodList{}
		if _, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(body, nil, l); err != nil {
			return // the decoder skips what it does not keep; the generated code reads it
		}
		want := make([]corev1.Pod, 0, len(l.Items))
		for i := range l.Items {
			want = append(want, trimPod(&l.Items[i], interner{}))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decoded\n%s\ntrimPod\n%s", fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want))
		}
		if meta.Continue != l.Continue || meta.ResourceVersion != l.ResourceVersion || !reflect.DeepEqual(meta.RemainingItemCount, l.RemainingItemCount) {
			t.Errorf("list meta %+v, want %+v", meta, l.ListMeta)
		}
	})
}

// protobufStatus is a Status as the API server sends it to a client that
// accepts protobuf.
func protobufStatus(t *testing.T, err *apierrors.StatusError) []byte {
	s := err.ErrStatus
	s.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(&s, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// listPods sends the request typedList did and answers as it did: the same
// trimmed pods and list metadata, the same errors (text, code, reason) for
// Status answers in protobuf and JSON, a 429 retried.
func TestListPodsAnswersAsTypedList(t *testing.T) {
	const protobufType, jsonType = "application/vnd.kubernetes.protobuf", "application/json"
	list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: ptr.To[int64](7)}, Items: variedPods()}
	jsonList, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	expired := apierrors.NewResourceExpired("The provided continue parameter is too old")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC: no"))
	jsonStatus := func(err *apierrors.StatusError) []byte {
		s := err.ErrStatus
		s.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
		b, _ := json.Marshal(s)
		return b
	}
	type answer struct {
		code        int
		contentType string
		body        []byte
	}
	tests := []struct {
		name    string
		answers []answer // in turn; the last repeats
		check   func(error) bool
	}{
		{name: "protobuf page", answers: []answer{{200, protobufType, podPageBody(t, list)}}},
		{name: "json page", answers: []answer{{200, jsonType, jsonList}}},
		{name: "429 then a page", answers: []answer{{429, jsonType, jsonStatus(apierrors.NewTooManyRequests("slow down", 0))}, {200, protobufType, podPageBody(t, list)}}},
		{name: "expired continue, protobuf", answers: []answer{{410, protobufType, protobufStatus(t, expired)}}, check: apierrors.IsResourceExpired},
		{name: "expired continue, json", answers: []answer{{410, jsonType, jsonStatus(expired)}}, check: apierrors.IsResourceExpired},
		{name: "forbidden", answers: []answer{{403, jsonType, jsonStatus(forbidden)}}, check: apierrors.IsForbidden},
		{name: "not found, no body", answers: []answer{{404, "text/plain", nil}}, check: apierrors.IsNotFound},
		{name: "a failed protobuf Status with 200", answers: []answer{{200, protobufType, protobufStatus(t, forbidden)}}, check: apierrors.IsForbidden},
		{name: "a failed JSON Status with 200", answers: []answer{{200, jsonType, jsonStatus(forbidden)}}, check: apierrors.IsForbidden},
		{name: "server error", answers: []answer{{500, jsonType, jsonStatus(apierrors.NewInternalError(errors.New("etcd")))}}, check: apierrors.IsInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if r.URL.Path != "/api/v1/namespaces/shop/pods" || q.Get("limit") != "500" || q.Get("continue") != "tok" || q.Get("labelSelector") != "a=b" ||
					!strings.HasPrefix(r.Header.Get("Accept"), protobufType) {
					t.Errorf("request %s, Accept %q", r.URL, r.Header.Get("Accept"))
				}
				a := tt.answers[min(calls, len(tt.answers)-1)]
				calls++
				w.Header().Set("Content-Type", a.contentType)
				if a.code == 429 {
					w.Header().Set("Retry-After", "0")
				}
				w.WriteHeader(a.code)
				w.Write(a.body)
			}))
			defer srv.Close()
			ctr := &Counter{}
			typed, err := kubernetes.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{Counter: ctr}))
			if err != nil {
				t.Fatal(err)
			}
			c := &clients{typed: typed}
			opts := metav1.ListOptions{Limit: 500, Continue: "tok", LabelSelector: "a=b"}
			old, oldErr := typedList[corev1.PodList](context.Background(), c, snapshot.Pods, "shop", opts)
			oldCalls, oldBytes := calls, ctr.BodyBytes()
			calls = 0
			p, cont, err := listPods(context.Background(), c, "shop", opts, interner{})
			// Every byte of the answer is counted; Do also drains a 429's
			// body before its retry, Stream closes it.
			last := tt.answers[len(tt.answers)-1]
			if n := ctr.BodyBytes() - oldBytes; calls != oldCalls || n > oldBytes || n < int64(len(last.body)) {
				t.Errorf("%d requests and %d body bytes, typedList %d and %d", calls, n, oldCalls, oldBytes)
			}
			if tt.check != nil {
				if err == nil || oldErr == nil || err.Error() != oldErr.Error() || !tt.check(err) ||
					apierrors.ReasonForError(err) != apierrors.ReasonForError(oldErr) || SkipReason(err) != SkipReason(oldErr) {
					t.Fatalf("err %v, typedList %v", err, oldErr)
				}
				return
			}
			if err != nil || oldErr != nil {
				t.Fatalf("err %v, typedList %v", err, oldErr)
			}
			want := make([]corev1.Pod, len(old.Items))
			for i := range old.Items {
				want[i] = trimPod(&old.Items[i], interner{})
			}
			if !reflect.DeepEqual(p.items, want) || p.n != len(want) || cont != "next" || p.rv != "42" || p.remaining != 7 {
				t.Errorf("page %+v, continue %q; want the %d pods trimPod keeps, next, 42, 7", p, cont, len(want))
			}
		})
	}
}

// A response over the bound is an error, read no further than the bound.
func TestListPodsBoundsTheResponse(t *testing.T) {
	defer func(m sizelimit.Size) { maxPageBytes = m }(maxPageBytes)
	maxPageBytes = 64 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
		chunk := bytes.Repeat([]byte{0}, 1<<20)
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctr := &Counter{}
	typed, err := kubernetes.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{Counter: ctr}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = listPods(context.Background(), &clients{typed: typed}, "", metav1.ListOptions{}, interner{})
	var le *sizelimit.Error
	if !errors.As(err, &le) || le.Max != maxPageBytes {
		t.Fatalf("err %v, want the response limit", err)
	}
	if n := ctr.BodyBytes(); n > int64(maxPageBytes)+1 {
		t.Errorf("read %d bytes of the body, bound %d", n, maxPageBytes)
	}
}

// A connection lost before any answer is retried, as Do retries a GET.
func TestListPodsRetriesALostConnection(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
		w.Write(podPageBody(t, &corev1.PodList{Items: variedPods()[:3]}))
	}))
	defer srv.Close()
	typed, err := kubernetes.NewForConfig(Configure(&rest.Config{Host: srv.URL}, ClientOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := listPods(context.Background(), &clients{typed: typed}, "", metav1.ListOptions{}, interner{})
	if err != nil || p.n != 3 || calls != 2 {
		t.Errorf("%d pods after %d requests, err %v; want 3 after 2", p.n, calls, err)
	}
}

// page decodes a protobuf PodList body held whole, as listPods does as it
// arrives; errNotPodList when it is not one.
func (d *podDecoder) page(body []byte, in interner) ([]corev1.Pod, metav1.ListMeta, error) {
	var item []byte
	return d.stream(bufio.NewReader(bytes.NewReader(body)), in, &item, 0)
}
