package kube

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/premortem/premortem/internal/sizelimit"
	"github.com/premortem/premortem/internal/snapshot"
)

// An agent's Pod watch streams every pod of the cluster when it starts
// (WatchList) and again after an expired watch: 150,000 events, each of
// which client-go decodes into a whole Pod only for the agent to trim it.
// watchPods decodes each event's pod straight into the trimmed form, as
// listPods decodes pages; the garbage collector then has little to do
// while the kind is read.

// maxWatchEvent bounds one event of a watch: an object the API server
// stores is at most a few MiB.
const maxWatchEvent = 16 << 20

// podWatchAccept asks for a protobuf watch stream: length-prefixed
// metav1.WatchEvent messages, each object in its runtime.Unknown envelope.
const podWatchAccept = "application/vnd.kubernetes.protobuf;stream=watch"

// watchPods opens a watch of pods whose events carry trimmed pods (with
// their resourceVersion). A server that cannot answer protobuf (406) is
// watched the usual way.
func watchPods(ctx context.Context, c *clients, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	req, err := c.listRequest(snapshot.Pods, ns, opts)
	if err != nil {
		return nil, err
	}
	body, err := req.SetHeader("Accept", podWatchAccept).Stream(ctx)
	if apierrors.IsNotAcceptable(err) || apierrors.IsUnsupportedMediaType(err) {
		return watchTyped(ctx, c, snapshot.Pods, ns, opts)
	}
	if err != nil {
		return nil, err
	}
	d := &podEventDecoder{body: body, r: bufio.NewReaderSize(body, 64<<10), dec: podDecoder{resourceVersion: true}}
	return watch.NewStreamWatcher(d, apierrors.NewClientErrorReporter(500, "GET", "PodWatchDecoding")), nil
}

// podEventDecoder is a watch.Decoder of a protobuf Pod watch stream.
type podEventDecoder struct {
	body io.Closer
	r    *bufio.Reader
	buf  []byte
	dec  podDecoder
}

// Decode reads the next event. Pods are decoded into the trimmed form;
// any other object (an ERROR's Status, a BOOKMARK's pod, which carries its
// annotations) the usual way.
func (d *podEventDecoder) Decode() (watch.EventType, runtime.Object, error) {
	frame, err := d.frame()
	if err != nil {
		return "", nil, err
	}
	var typ, raw []byte
	r := fieldReader{b: frame}
	for r.next() {
		switch r.num {
		case 1:
			typ = r.bytes()
		case 2: // runtime.RawExtension
			x := fieldReader{b: r.bytes()}
			for x.next() {
				if x.num == 1 {
					raw = x.bytes()
				}
			}
			r.check(x.err)
		}
	}
	if r.err != nil {
		return "", nil, fmt.Errorf("watch event: %w", r.err)
	}
	et := watch.EventType(typ)
	switch et {
	case watch.Added, watch.Modified, watch.Deleted:
		podRaw, err := unknownRaw(raw, "Pod")
		if errors.Is(err, errNotPodList) {
			break
		}
		if err != nil {
			return "", nil, err
		}
		p, err := d.dec.pod(podRaw)
		if err != nil {
			return "", nil, fmt.Errorf("watch event: decoding a pod: %w", err)
		}
		return et, &p, nil
	case watch.Bookmark, watch.Error:
	default:
		return "", nil, fmt.Errorf("watch event: unknown type %q", typ)
	}
	// As client-go's watch decodes them: without their apiVersion and kind.
	obj, err := runtime.Decode(runtime.WithoutVersionDecoder{Decoder: scheme.Codecs.UniversalDeserializer()}, raw)
	if err != nil {
		return "", nil, fmt.Errorf("watch event %s: %w", et, err)
	}
	return et, obj, nil
}

// frame reads one length-prefixed message into the reused buffer.
func (d *podEventDecoder) frame() ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(d.r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxWatchEvent {
		return nil, &sizelimit.Error{Limit: "watch event", Max: maxWatchEvent}
	}
	if cap(d.buf) < int(size) {
		d.buf = make([]byte, size)
	}
	d.buf = d.buf[:size]
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return d.buf, nil
}

// Close ends the stream.
func (d *podEventDecoder) Close() { d.body.Close() }
