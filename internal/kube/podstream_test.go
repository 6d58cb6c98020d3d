package kube

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/sizelimit"
	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
)

// A page is decoded one pod at a time: the reader holds one pod's bytes,
// whatever the page's size.
func TestPodStreamHoldsOnePod(t *testing.T) {
	l := &corev1.PodList{}
	for i := range 300 {
		p := benchPod(i)
		p.Annotations["example.com/build-info"] = strings.Repeat("x", 8<<10)
		l.Items = append(l.Items, p)
	}
	body := podPageBody(t, l)
	largest := 0
	for i := range l.Items {
		largest = max(largest, l.Items[i].Size())
	}
	pr := podPageReaders.Get().(*podPageReader)
	defer pr.release()
	pg, _, err := pr.decode(bytes.NewReader(body), int64(maxPageBytes), interner{}, 500)
	if err != nil {
		t.Fatal(err)
	}
	if pg.n != len(l.Items) || pg.bytes != int64(len(body)) {
		t.Fatalf("%d pods, %d bytes; want %d, %d", pg.n, pg.bytes, len(l.Items), len(body))
	}
	if c := cap(pr.item); c > max(2*largest, 64<<10) {
		t.Errorf("object buffer of %d bytes for pods of at most %d (page %d)", c, largest, len(body))
	}
	if c := cap(pg.items.([]corev1.Pod)); c != pg.n && c-pg.n > 64 {
		t.Errorf("page of %d pods kept room for %d", pg.n, c)
	}
}

// A length the body does not hold fails when the body ends, having
// allocated in proportion to what arrived, not to what was claimed.
func TestPodStreamClaimsNoMoreThanItHolds(t *testing.T) {
	field := func(num protowire.Number, n uint64, rest ...byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return append(protowire.AppendVarint(b, n), rest...)
	}
	for name, body := range map[string][]byte{
		"object":            append(protobufMagic, field(2, 1<<40, []byte("abc")...)...),
		"pod":               append(protobufMagic, field(2, 1<<40, field(2, 1<<30, []byte("abc")...)...)...),
		"pod past its list": append(protobufMagic, field(2, 10, field(2, 1<<20, make([]byte, 100)...)...)...),
		"list meta":         append(protobufMagic, field(2, 1<<40, field(1, 1<<30)...)...),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			pr := &podPageReader{br: newPageBuffer()}
			_, _, err := pr.decode(bytes.NewReader(body), int64(maxPageBytes), interner{}, 0)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err %v, want unexpected EOF", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("%d bytes allocated for a body of %d", n, len(body))
			}
		})
	}
}

// A page of pods over the bound fails with the bound, read no further.
func TestPodStreamBounded(t *testing.T) {
	body := podPageBody(t, &corev1.PodList{Items: variedPods()})
	for _, max := range []int{len(body) - 1, len(body) / 2, 10} {
		r := &countingReader{r: bytes.NewReader(body)}
		pr := &podPageReader{br: newPageBuffer()}
		_, _, err := pr.decode(r, int64(max), interner{}, 0)
		var le *sizelimit.Error
		if !errors.As(err, &le) || le.Max != sizelimit.Size(max) {
			t.Errorf("bound %d of %d: err %v, want the response limit", max, len(body), err)
		}
		if r.n > int64(max)+1 {
			t.Errorf("bound %d: read %d bytes", max, r.n)
		}
	}
	pr := &podPageReader{br: newPageBuffer()}
	if _, _, err := pr.decode(bytes.NewReader(body), int64(len(body)), interner{}, 0); err != nil {
		t.Errorf("a body of exactly the bound: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
