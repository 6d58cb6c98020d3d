package kube

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A page of pods is decoded as it arrives, one pod at a time, so that the
// client holds one pod's bytes, not the page's: the page size can then be
// chosen for the API server's cost (see ListOptions.MaxPageSize) without
// the client's memory growing with it.

// pbStream reads protobuf fields from a stream, counting what it consumed.
type pbStream struct {
	r *bufio.Reader
	n int64
}

func (s *pbStream) ReadByte() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.n++
	}
	return c, err
}

// tag reads the next field's tag; io.EOF when the stream ends before it.
func (s *pbStream) tag() (protowire.Number, protowire.Type, error) {
	v, err := s.varint()
	if err != nil {
		return 0, 0, err
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber {
		return 0, 0, errors.New("invalid field number")
	}
	return num, typ, nil
}

// varint reads one varint; io.EOF only when nothing was read.
func (s *pbStream) varint() (uint64, error) {
	start := s.n
	v, err := binary.ReadUvarint(s)
	if err != nil && s.n > start && errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return v, err
}

// length reads a length-delimited field's length, which must fit in left.
func (s *pbStream) length(left int64) (int, error) {
	v, err := s.varint()
	if err != nil {
		return 0, eofUnexpected(err)
	}
	if v > uint64(left) {
		return 0, io.ErrUnexpectedEOF
	}
	return int(v), nil
}

// bytes reads n bytes into *buf, reusing its capacity. A buffer too small
// grows as the bytes arrive, never ahead of them: a length the stream does
// not hold costs no more than what it does.
func (s *pbStream) bytes(n int, buf *[]byte) ([]byte, error) {
	b := (*buf)[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			grown := make([]byte, len(b), min(n, max(2*cap(b), 64<<10)))
			copy(grown, b)
			b = grown
		}
		k, err := io.ReadFull(s.r, b[len(b):min(n, cap(b))])
		b = b[:len(b)+k]
		s.n += int64(k)
		if err != nil {
			*buf = b
			return nil, eofUnexpected(err)
		}
	}
	*buf = b
	return b, nil
}

// skip consumes the value of a field of type typ, at most left bytes.
// Groups, which no Kubernetes type uses, are an error.
func (s *pbStream) skip(typ protowire.Type, left int64) error {
	var n int64
	switch typ {
	case protowire.VarintType:
		_, err := s.varint()
		return eofUnexpected(err)
	case protowire.Fixed32Type:
		n = 4
	case protowire.Fixed64Type:
		n = 8
	case protowire.BytesType:
		l, err := s.length(left)
		if err != nil {
			return err
		}
		n = int64(l)
	default:
		return fmt.Errorf("wire type %d not expected", typ)
	}
	if n > left {
		return io.ErrUnexpectedEOF
	}
	k, err := s.r.Discard(int(n))
	s.n += int64(k)
	return eofUnexpected(err)
}

func eofUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// stream decodes a protobuf PodList body from r, one pod at a time into
// item's reused buffer; errNotPodList, having consumed nothing, when the
// body is not one (another encoding, or another kind named first, as the
// API server names it). sizeHint sizes the result (the page's limit).
func (d *podDecoder) stream(r *bufio.Reader, in interner, item *[]byte, sizeHint int) ([]corev1.Pod, metav1.ListMeta, error) {
	var meta metav1.ListMeta
	if kind, ok := envelopeKind(r); !ok || (kind != "" && kind != "PodList") {
		return nil, meta, errNotPodList
	}
	d.in = in
	s := &pbStream{r: r}
	if _, err := r.Discard(len(protobufMagic)); err != nil {
		return nil, meta, err
	}
	pods := make([]corev1.Pod, 0, min(max(sizeHint, 0), 10000))
	rawSeen := false
	for {
		num, typ, err := s.tag()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			// The kind was looked at before when buffered; one named after
			// the list is not the API server's layout.
			n, err := s.length(1 << 20)
			if err != nil {
				return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
			}
			b, err := s.bytes(n, item)
			if err != nil {
				return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
			}
			kind, err := typeMetaKind(b)
			switch {
			case err != nil:
				return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
			case rawSeen:
				return nil, meta, errors.New("runtime.Unknown: type meta after the object")
			case kind != "" && kind != "PodList":
				return nil, meta, fmt.Errorf("runtime.Unknown: a %s, not a PodList", kind)
			}
		case num == 2 && typ == protowire.BytesType:
			if rawSeen {
				return nil, meta, errors.New("runtime.Unknown: two objects")
			}
			rawSeen = true
			n, err := s.length(1 << 62)
			if err != nil {
				return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
			}
			if pods, err = d.streamList(s, int64(n), item, pods, &meta); err != nil {
				return nil, meta, err
			}
		case num == 1 || num == 2:
			return nil, meta, fmt.Errorf("runtime.Unknown: field %d: wrong wire type %d", num, typ)
		default:
			if err := s.skip(typ, 1<<62); err != nil {
				return nil, meta, fmt.Errorf("runtime.Unknown: %w", err)
			}
		}
	}
	if cap(pods)-len(pods) > 64 {
		pods = append([]corev1.Pod(nil), pods...)
	}
	return pods, meta, nil
}

// streamList decodes the n bytes of a PodList: its ListMeta and each pod.
func (d *podDecoder) streamList(s *pbStream, n int64, item *[]byte, pods []corev1.Pod, meta *metav1.ListMeta) ([]corev1.Pod, error) {
	end := s.n + n
	for s.n < end {
		num, typ, err := s.tag()
		if err != nil {
			return nil, fmt.Errorf("PodList: %w", eofUnexpected(err))
		}
		left := end - s.n
		if (num == 1 || num == 2) && typ != protowire.BytesType {
			return nil, fmt.Errorf("PodList: field %d: wrong wire type %d", num, typ)
		}
		switch num {
		case 1, 2:
			l, err := s.length(left)
			if err != nil {
				return nil, fmt.Errorf("PodList: %w", err)
			}
			b, err := s.bytes(l, item)
			if err != nil {
				return nil, fmt.Errorf("PodList: %w", err)
			}
			if num == 1 {
				if err := meta.Unmarshal(b); err != nil {
					return nil, fmt.Errorf("PodList: %w", err)
				}
				continue
			}
			p, err := d.pod(b)
			if err != nil {
				return nil, fmt.Errorf("PodList: %w", err)
			}
			pods = append(pods, p)
		default:
			if err := s.skip(typ, left); err != nil {
				return nil, fmt.Errorf("PodList: %w", err)
			}
		}
		if s.n > end {
			return nil, fmt.Errorf("PodList: %w", io.ErrUnexpectedEOF)
		}
	}
	return pods, nil
}

// envelopeKind looks, without consuming anything, at the start of a body:
// ok when it is a protobuf envelope, with the kind its type meta names
// when that comes first and is buffered ("" otherwise).
func envelopeKind(r *bufio.Reader) (string, bool) {
	head, _ := r.Peek(512)
	rest, ok := bytes.CutPrefix(head, protobufMagic)
	if !ok || len(rest) == 0 {
		return "", false
	}
	num, typ, n := protowire.ConsumeTag(rest)
	if n < 0 || num != 1 || typ != protowire.BytesType {
		return "", true
	}
	tm, m := protowire.ConsumeBytes(rest[n:])
	if m < 0 {
		return "", true
	}
	kind, _ := typeMetaKind(tm) // an error is stream's to report
	return kind, true
}

// typeMetaKind is the kind a runtime.TypeMeta message names.
func typeMetaKind(b []byte) (string, error) {
	var kind []byte
	t := fieldReader{b: b}
	for t.next() {
		if t.num == 2 {
			kind = t.bytes()
		}
	}
	return string(kind), t.err
}
