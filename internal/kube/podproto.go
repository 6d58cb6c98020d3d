package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/premortem/premortem/internal/sizelimit"
	"github.com/premortem/premortem/internal/snapshot"
	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes/scheme"
)

// A live scan of a large cluster spends most of its CPU and garbage on pod
// pages: client-go reads the body whole, copies it out of its protobuf
// envelope, builds complete Pods (managedFields, env, probes, volumes) and
// trimPod then keeps a few hundred bytes of each. listPods reads each page
// into a reused buffer and decodes the wire format straight into what
// trimPod keeps, skipping every other field without allocating. The
// differential test (podproto_test.go) holds the two to the same output.

// podKind is the Pods kindSpec: a full kind trimmed by trimPod, whose live
// pages are decoded by listPods.
func podKind() *kindSpec {
	k := fullKind[corev1.Pod, corev1.PodList](snapshot.Pods, trimPod, func(s *snapshot.Snapshot) *[]corev1.Pod { return &s.Pods })
	k.list = listPods
	k.watch = watchPods
	return k
}

// maxPageBytes bounds one LIST response. A page of pods is decoded as it
// arrives; a response of another encoding is held whole, as a document of
// a file is.
var maxPageBytes = DefaultLimits.Document

// maxPooledItem bounds the buffer kept for the next page's pods: one grown
// by an outsized object is let go.
const maxPooledItem = 4 << 20

// podPageReader is a read buffer, an object buffer and a decoder's scratch,
// reused page after page.
type podPageReader struct {
	br   *bufio.Reader
	item []byte
	dec  podDecoder
}

var podPageReaders = sync.Pool{New: func() any { return &podPageReader{br: newPageBuffer()} }}

func newPageBuffer() *bufio.Reader { return bufio.NewReaderSize(nil, 64<<10) }

// listPods lists one page of pods as typedList does (same request, same
// errors) and decodes it into trimmed pods.
func listPods(ctx context.Context, c *clients, ns string, opts metav1.ListOptions, in interner) (page, string, error) {
	body, err := streamPods(ctx, c, ns, opts)
	if err != nil {
		return page{}, "", err
	}
	defer body.Close()
	pr := podPageReaders.Get().(*podPageReader)
	defer pr.release()
	return pr.decode(body, int64(maxPageBytes), in, int(opts.Limit))
}

// decode reads one page from body, no further than max bytes (an error
// past them).
func (pr *podPageReader) decode(body io.Reader, max int64, in interner, sizeHint int) (page, string, error) {
	lr := &io.LimitedReader{R: body, N: max + 1}
	pr.br.Reset(lr)
	pods, meta, err := pr.dec.stream(pr.br, in, &pr.item, sizeHint)
	if errors.Is(err, errNotPodList) {
		var data []byte
		if data, err = io.ReadAll(pr.br); err == nil && lr.N > 0 {
			return podsDecoded(data, in)
		}
	}
	switch {
	case lr.N <= 0: // whatever the decoder made of it, the bound cut it
		return page{}, "", &sizelimit.Error{Limit: "response", Max: sizelimit.Size(max)}
	case err != nil:
		return page{}, "", fmt.Errorf("decoding a page of pods: %w", err)
	}
	return page{items: pods, n: len(pods), remaining: remainingOf(&meta), rv: meta.ResourceVersion, bytes: max + 1 - lr.N}, meta.Continue, nil
}

// streamRetries bounds the retries of a page whose connection was lost
// before any answer, as client-go's Do bounds them.
const streamRetries = 10

// streamPods sends the page's request and returns its body. Stream maps a
// non-2xx answer to the error Do would (a Status body to its
// *StatusError) and retries a 429 as Do does; a GET whose connection was
// reset or lost before any answer Do retries after a second, and so does
// streamPods.
func streamPods(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (io.ReadCloser, error) {
	for retry := 0; ; retry++ {
		req, err := c.listRequest(snapshot.Pods, ns, opts)
		if err != nil {
			return nil, err
		}
		body, err := req.Stream(ctx)
		if err == nil || retry == streamRetries ||
			!(utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err)) {
			return body, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

func (pr *podPageReader) release() {
	pr.dec.in = nil
	pr.br.Reset(nil)
	if cap(pr.item) > maxPooledItem {
		pr.item = nil
	}
	podPageReaders.Put(pr)
}

// podsDecoded decodes a page that is not a protobuf PodList (a server or
// proxy answering JSON, or a Status) as rest.Result.Into does, and trims it.
func podsDecoded(data []byte, in interner) (page, string, error) {
	if len(data) == 0 {
		return page{}, "", errors.New("0-length response")
	}
	l := &corev1.PodList{}
	out, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, l)
	if err != nil {
		return page{}, "", err
	}
	// Into fails on a failed Status only; anything else leaves l empty.
	if s, ok := out.(*metav1.Status); ok && out != l && s.Status != metav1.StatusSuccess {
		return page{}, "", apierrors.FromObject(s)
	}
	pods := make([]corev1.Pod, len(l.Items))
	for i := range l.Items {
		pods[i] = trimPod(&l.Items[i], in)
	}
	return page{items: pods, n: len(pods), remaining: remainingOf(l), rv: l.ResourceVersion}, l.Continue, nil
}

// errNotPodList says a body is not the protobuf envelope of a PodList.
var errNotPodList = errors.New("not a protobuf PodList")

// protobufMagic starts every protobuf body of the API server, before the
// runtime.Unknown envelope.
var protobufMagic = []byte("k8s\x00")

// unknownRaw returns the object of kind inside a protobuf body: the raw
// field of its runtime.Unknown envelope, unread and uncopied;
// errNotPodList when it is another kind.
func unknownRaw(body []byte, want string) ([]byte, error) {
	rest, ok := bytes.CutPrefix(body, protobufMagic)
	if !ok || len(rest) == 0 {
		return nil, errNotPodList
	}
	var raw []byte
	var kind string
	r := fieldReader{b: rest}
	for r.next() {
		switch r.num {
		case 1: // typeMeta
			k, err := typeMetaKind(r.bytes())
			r.check(err)
			kind = k
		case 2:
			raw = r.bytes()
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("runtime.Unknown: %w", r.err)
	}
	if kind != "" && kind != want {
		return nil, errNotPodList
	}
	return raw, nil
}

// fieldReader walks the fields of one protobuf message. Its slices are
// views of the page: whatever is kept is copied (string) or interned.
type fieldReader struct {
	b   []byte
	num protowire.Number
	typ protowire.Type
	v   uint64 // a varint field's value
	s   []byte // a length-delimited field's bytes
	err error
}

// next moves to the next field; false at the end or on an error (r.err).
func (r *fieldReader) next() bool {
	if r.err != nil || len(r.b) == 0 {
		return false
	}
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		r.err = protowire.ParseError(n)
		return false
	}
	r.b = r.b[n:]
	r.num, r.typ, r.v, r.s = num, typ, 0, nil
	switch typ {
	case protowire.VarintType:
		r.v, n = protowire.ConsumeVarint(r.b)
	case protowire.BytesType:
		r.s, n = protowire.ConsumeBytes(r.b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, r.b)
	}
	if n < 0 {
		r.err = protowire.ParseError(n)
		return false
	}
	r.b = r.b[n:]
	return true
}

// bytes is a length-delimited field's value. A kept field of another wire
// type is an error, as in the generated code.
func (r *fieldReader) bytes() []byte {
	if r.typ != protowire.BytesType {
		r.wrongType()
	}
	return r.s
}

// varint is a varint field's value.
func (r *fieldReader) varint() uint64 {
	if r.typ != protowire.VarintType {
		r.wrongType()
	}
	return r.v
}

func (r *fieldReader) wrongType() {
	r.check(fmt.Errorf("field %d: wrong wire type %d", r.num, r.typ))
}

// check records the first error.
func (r *fieldReader) check(err error) {
	if r.err == nil {
		r.err = err
	}
}

// podDecoder decodes PodList pages into trimmed pods. The views of one pod
// (labels, owners, containers) are gathered until the pod ends: the
// interner shares whole maps and lists, keyed by all of their content.
type podDecoder struct {
	in                         interner
	labels                     []labelView
	owners                     []ownerView
	containers, initContainers []containerView
	conds                      []corev1.PodCondition
	statuses, initStatuses     []corev1.ContainerStatus
	key                        []byte
	// resourceVersion keeps the pods' resourceVersion, which a watch's
	// reflector resumes from (trimPod drops it).
	resourceVersion bool
}

type labelView struct{ k, v []byte }

type ownerView struct {
	apiVersion, kind, name, uid []byte
	controller, block           int8 // -1 unset, else 0 or 1
}

type containerView struct{ name, image []byte }

// pod decodes one Pod into what trimPod keeps of it.
func (d *podDecoder) pod(b []byte) (corev1.Pod, error) {
	d.labels, d.owners, d.containers, d.initContainers = d.labels[:0], d.owners[:0], d.containers[:0], d.initContainers[:0]
	d.conds, d.statuses, d.initStatuses = d.conds[:0], d.statuses[:0], d.initStatuses[:0]
	var p corev1.Pod
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			r.check(d.objectMeta(r.bytes(), &p.ObjectMeta))
		case 2:
			r.check(d.podSpec(r.bytes(), &p.Spec))
		case 3:
			r.check(d.podStatus(r.bytes(), &p.Status))
		}
	}
	if r.err != nil {
		return corev1.Pod{}, r.err
	}
	p.Labels = d.labelMap()
	p.OwnerReferences = d.ownerRefs()
	p.Spec.Containers = d.containerList(d.containers)
	p.Spec.InitContainers = d.containerList(d.initContainers)
	p.Status.Conditions = exact(d.conds)
	p.Status.ContainerStatuses = keepStatuses(d.statuses, d.in, &d.key, true)
	p.Status.InitContainerStatuses = keepStatuses(d.initStatuses, d.in, &d.key, true)
	return p, nil
}

// exact is a copy of s of its length, nil when empty (as trimPod's).
func exact[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// view is b as a string that must not outlive b: for comparisons.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// str interns b without copying it when the interner has it already.
func (d *podDecoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := d.in[string(b)].(string); ok {
		return s
	}
	return d.in.str(string(b))
}

func (d *podDecoder) objectMeta(b []byte, m *metav1.ObjectMeta) error {
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			m.Name = string(r.bytes())
		case 3:
			m.Namespace = d.str(r.bytes())
		case 5:
			m.UID = types.UID(r.bytes())
		case 6:
			if d.resourceVersion {
				m.ResourceVersion = string(r.bytes())
			}
		case 8:
			r.check(m.CreationTimestamp.Unmarshal(r.bytes()))
		case 9:
			if m.DeletionTimestamp == nil {
				m.DeletionTimestamp = &metav1.Time{}
			}
			r.check(m.DeletionTimestamp.Unmarshal(r.bytes()))
		case 11:
			r.check(d.label(r.bytes()))
		case 13:
			r.check(d.owner(r.bytes()))
		}
	}
	return r.err
}

// label reads one entry of the labels map.
func (d *podDecoder) label(b []byte) error {
	var l labelView
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			l.k = r.bytes()
		case 2:
			l.v = r.bytes()
		}
	}
	d.labels = append(d.labels, l)
	return r.err
}

func (d *podDecoder) owner(b []byte) error {
	o := ownerView{controller: -1, block: -1}
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			o.kind = r.bytes()
		case 3:
			o.name = r.bytes()
		case 4:
			o.uid = r.bytes()
		case 5:
			o.apiVersion = r.bytes()
		case 6:
			o.controller = bit(r.varint())
		case 7:
			o.block = bit(r.varint())
		}
	}
	d.owners = append(d.owners, o)
	return r.err
}

func bit(v uint64) int8 {
	if v != 0 {
		return 1
	}
	return 0
}

func container(cs []containerView, b []byte) ([]containerView, error) {
	var c containerView
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			c.name = r.bytes()
		case 2:
			c.image = r.bytes()
		}
	}
	return append(cs, c), r.err
}

func (d *podDecoder) podSpec(b []byte, s *corev1.PodSpec) error {
	r := fieldReader{b: b}
	var err error
	for r.next() {
		switch r.num {
		case 2:
			d.containers, err = container(d.containers, r.bytes())
			r.check(err)
		case 20:
			d.initContainers, err = container(d.initContainers, r.bytes())
			r.check(err)
		case 8:
			s.ServiceAccountName = d.str(r.bytes())
		case 10:
			s.NodeName = d.str(r.bytes())
		case 11:
			s.HostNetwork = r.varint() != 0
		case 24:
			s.PriorityClassName = d.str(r.bytes())
		case 25:
			v := int32(r.varint())
			s.Priority = &v
		}
	}
	return r.err
}

func (d *podDecoder) podStatus(b []byte, s *corev1.PodStatus) error {
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			s.Phase = corev1.PodPhase(d.str(r.bytes()))
		case 2:
			r.check(d.condition(r.bytes()))
		case 4:
			s.Reason = d.str(r.bytes())
		case 8:
			cs, err := d.containerStatus(r.bytes())
			r.check(err)
			d.statuses = append(d.statuses, cs)
		case 10:
			cs, err := d.containerStatus(r.bytes())
			r.check(err)
			d.initStatuses = append(d.initStatuses, cs)
		}
	}
	return r.err
}

func (d *podDecoder) condition(b []byte) error {
	var c corev1.PodCondition
	var typ, status, reason []byte
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			typ = r.bytes()
		case 2:
			status = r.bytes()
		case 3:
			r.check(c.LastProbeTime.Unmarshal(r.bytes()))
		case 4:
			r.check(c.LastTransitionTime.Unmarshal(r.bytes()))
		case 5:
			reason = r.bytes()
		case 6:
			c.Message = string(r.bytes())
		case 7:
			c.ObservedGeneration = int64(r.varint())
		}
	}
	// Interned only when kept, as trimPodConditions does; the views asked
	// about it are not kept.
	c.Type, c.Status = corev1.PodConditionType(view(typ)), corev1.ConditionStatus(view(status))
	if keptPodCondition(&c) {
		c.Type, c.Status = corev1.PodConditionType(d.str(typ)), corev1.ConditionStatus(d.str(status))
		c.Reason = d.str(reason)
		d.conds = append(d.conds, c)
	}
	return r.err
}

// containerStatus decodes one status; its states through the generated
// code (small, and mostly kept), then trimState as trimPod does.
func (d *podDecoder) containerStatus(b []byte) (corev1.ContainerStatus, error) {
	var s corev1.ContainerStatus
	var state, last corev1.ContainerState
	r := fieldReader{b: b}
	for r.next() {
		switch r.num {
		case 1:
			s.Name = d.str(r.bytes())
		case 2:
			r.check(state.Unmarshal(r.bytes()))
		case 3:
			r.check(last.Unmarshal(r.bytes()))
		case 4:
			s.Ready = r.varint() != 0
		case 5:
			s.RestartCount = int32(r.varint())
		case 6:
			s.Image = d.str(r.bytes())
		}
	}
	s.State, s.LastTerminationState = trimState(state, d.in), trimState(last, d.in)
	return s, r.err
}

// labelMap is the pod's labels as interner.labels shares them: looked up
// by the same key built from the views, built only when new.
func (d *podDecoder) labelMap() map[string]string {
	if len(d.labels) == 0 {
		return nil
	}
	// A map's later entry of a key wins: sort stably, keep the last.
	slices.SortStableFunc(d.labels, func(a, b labelView) int { return bytes.Compare(a.k, b.k) })
	ls := d.labels[:0]
	for i, l := range d.labels {
		if i+1 < len(d.labels) && bytes.Equal(l.k, d.labels[i+1].k) {
			continue
		}
		ls = append(ls, l)
	}
	k := append(d.key[:0], "\x00labels"...)
	for _, l := range ls {
		k = append(append(append(append(k, 0), l.k...), '='), l.v...)
	}
	d.key = k
	if m, ok := d.in[string(k)].(map[string]string); ok {
		return m
	}
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[string(l.k)] = string(l.v)
	}
	return d.in.labels(m)
}

// ownerRefs is the pod's owner references as interner.owners shares them.
func (d *podDecoder) ownerRefs() []metav1.OwnerReference {
	if len(d.owners) == 0 {
		return nil
	}
	k := append(d.key[:0], "\x00owners"...)
	for _, o := range d.owners {
		k = append(append(k, 0), o.apiVersion...)
		for _, s := range [][]byte{o.kind, o.name, o.uid, triState(o.controller), triState(o.block)} {
			k = append(append(k, '/'), s...)
		}
	}
	d.key = k
	if refs, ok := d.in[string(k)].([]metav1.OwnerReference); ok {
		return refs
	}
	refs := make([]metav1.OwnerReference, len(d.owners))
	for i, o := range d.owners {
		refs[i] = metav1.OwnerReference{APIVersion: string(o.apiVersion), Kind: string(o.kind), Name: string(o.name),
			UID: types.UID(o.uid), Controller: boolPtr(o.controller), BlockOwnerDeletion: boolPtr(o.block)}
	}
	return d.in.owners(refs)
}

var triStates = [][]byte{[]byte("-"), []byte("false"), []byte("true")}

// triState spells an optional bool as ptrString does.
func triState(b int8) []byte { return triStates[b+1] }

func boolPtr(b int8) *bool {
	if b < 0 {
		return nil
	}
	v := b == 1
	return &v
}

// containerList is a container list as trimContainers shares it.
func (d *podDecoder) containerList(cs []containerView) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	k := append(d.key[:0], "\x00containers"...)
	for _, c := range cs {
		k = append(append(append(append(k, 0), c.name...), 0), c.image...)
	}
	d.key = k
	if out, ok := d.in[string(k)].([]corev1.Container); ok {
		return out
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: string(c.name), Image: string(c.image)}
	}
	return trimContainers(out, d.in)
}
