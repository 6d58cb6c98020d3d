package kube

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// benchPodPage is a protobuf page of 500 pods of 16 KB of JSON each, as
// lab/cmd/bench-scan builds them: benchPod with its annotation padded.
func benchPodPage(b *testing.B) []byte {
	const podJSON = 16 << 10
	raw, err := json.Marshal(benchPod(0))
	if err != nil {
		b.Fatal(err)
	}
	pad := podJSON - len(raw) + len(benchPod(0).Annotations["example.com/build-info"])
	l := &corev1.PodList{}
	for i := range 500 {
		p := benchPod(i)
		p.Annotations["example.com/build-info"] = strings.Repeat("x", pad)
		l.Items = append(l.Items, p)
	}
	return podPageBody(b, l)
}

// BenchmarkPodPage reads and decodes one page of 500 pods into the
// trimmed form, as client-go and trimPod did (ReadAll, the envelope,
// PodList.Unmarshal, trimPod) and as listPods does (a reused buffer and
// podDecoder). "new" interns into a fresh interner each page, the first
// page of a read; "warm" into one that has seen the page, as a read of a
// large cluster does once its ReplicaSets' pods repeat.
func BenchmarkPodPage(b *testing.B) {
	body := benchPodPage(b)
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	generated := func(in interner) {
		data, err := io.ReadAll(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		l := &corev1.PodList{}
		if _, _, err := s.Decode(data, nil, l); err != nil {
			b.Fatal(err)
		}
		pods := make([]corev1.Pod, len(l.Items))
		for i := range l.Items {
			pods[i] = trimPod(&l.Items[i], in)
		}
	}
	decoder := func(in interner) {
		pr := podPageReaders.Get().(*podPageReader)
		defer pr.release()
		if _, _, err := pr.decode(bytes.NewReader(body), int64(maxPageBytes), in, 500); err != nil {
			b.Fatal(err)
		}
	}
	for _, way := range []struct {
		name   string
		decode func(interner)
	}{{"generated+trimPod", generated}, {"decoder", decoder}} {
		b.Run(way.name+"/new", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				way.decode(interner{})
			}
			reportCPU(b, len(body), cpu)
		})
		b.Run(way.name+"/warm", func(b *testing.B) {
			in := interner{}
			way.decode(in)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				way.decode(in)
			}
			reportCPU(b, len(body), cpu)
		})
	}
}

// cpuSeconds is the process's user+system CPU time, GC included: on a
// shared machine CPU per page is the figure other work does not disturb.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func reportCPU(b *testing.B, size int, since float64) {
	cpu := cpuSeconds() - since
	b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size)*float64(b.N)/cpu/1e6, "MB/cpu-s")
}
