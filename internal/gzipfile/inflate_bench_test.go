package gzipfile_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/gzipfile"
)

// The inflaters side by side on a gzip-compressed generated audit log (64
// MiB, default compression, as logrotate writes): gzipfile's
// (klauspost/compress) and the standard library's, each into io.Discard.
// MB are decompressed bytes.

var gzLog struct {
	raw []byte
	gz  []byte
}

func benchLog(b *testing.B) ([]byte, int64) {
	if gzLog.gz == nil {
		var raw bytes.Buffer
		if _, err := audit.Generate(&raw, audit.GenerateOptions{Seed: 1, Bytes: 64 << 20}); err != nil {
			b.Fatal(err)
		}
		var gz bytes.Buffer
		w := stdgzip.NewWriter(&gz)
		if _, err := w.Write(raw.Bytes()); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		gzLog.raw, gzLog.gz = raw.Bytes(), gz.Bytes()
	}
	return gzLog.gz, int64(len(gzLog.raw))
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func benchInflate(b *testing.B, open func(io.Reader) (io.Reader, error)) {
	gz, size := benchLog(b)
	buf := make([]byte, 1<<20)
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		r, err := open(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, r, buf)
		if err != nil || n != size {
			b.Fatalf("inflated %d of %d bytes: %v", n, size, err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(size)/sec/1e6, "MB/s")
	b.ReportMetric(float64(size)*float64(b.N)/(cpuSeconds()-cpu)/1e6, "MB/cpu-s")
	b.ReportMetric(float64(size)/float64(len(gz)), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkInflate: gzipfile.NewReader, what audit and snapshot files use.
func BenchmarkInflate(b *testing.B) {
	benchInflate(b, func(r io.Reader) (io.Reader, error) {
		return gzipfile.NewReader(io.NopCloser(r), true)
	})
}

// BenchmarkInflateStdlib: compress/gzip, the baseline.
func BenchmarkInflateStdlib(b *testing.B) {
	benchInflate(b, func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) })
}
