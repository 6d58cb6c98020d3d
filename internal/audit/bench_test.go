package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// The benchmarks compare premortem's scanner with what existing audit tools
// do: decode every line with encoding/json into k8s.io/apiserver's
// audit/v1 Event. The *File benchmarks read a generated Metadata-level log
// (1 GB by default) from disk; see docs/benchmarks.md and `make bench-audit`.
//
//	PREMORTEM_AUDIT_BENCH_FILE  the log to read (generated when missing)
//	PREMORTEM_AUDIT_BENCH_SIZE  its size in bytes when generated (default 1 GB)

func benchLines(b *testing.B) [][]byte {
	var buf bytes.Buffer
	if _, err := Generate(&buf, GenerateOptions{Seed: 1, Bytes: 8 << 20}); err != nil {
		b.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

// BenchmarkParseLine: the scanner on one core.
func BenchmarkParseLine(b *testing.B) {
	lines := benchLines(b)
	var p Parser
	var ev Event
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		for _, l := range lines {
			if err := p.Parse(l, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/(cpuSeconds()-cpu)/1e6, "MB/cpu-s")
}

// BenchmarkDecodeLineEncodingJSON: the baseline on one core.
func BenchmarkDecodeLineEncodingJSON(b *testing.B) {
	lines := benchLines(b)
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		for _, l := range lines {
			var ev auditv1.Event
			if err := json.Unmarshal(l, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/(cpuSeconds()-cpu)/1e6, "MB/cpu-s")
}

func benchFile(b *testing.B) (string, int64) {
	path := os.Getenv("PREMORTEM_AUDIT_BENCH_FILE")
	size := int64(1 << 30)
	if s := os.Getenv("PREMORTEM_AUDIT_BENCH_SIZE"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("PREMORTEM_AUDIT_BENCH_SIZE: %v", err)
		}
		size = v
	}
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("premortem-audit-bench-%d.log", size))
	}
	if fi, err := os.Stat(path); err == nil {
		return path, fi.Size()
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	st, err := Generate(f, GenerateOptions{Seed: 1, Bytes: size})
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s: %d bytes, %d lines in %s", path, st.Bytes, st.Lines, time.Since(start).Round(time.Millisecond))
	return path, st.Bytes
}

// cpuSeconds is the process's user+system CPU time: on a shared machine
// MB per CPU-second is the figure other builds do not disturb.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func report(b *testing.B, bytes, events int64, cpu float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(bytes)*float64(b.N)/cpu/1e6, "MB/cpu-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAnalyzeFile: premortem audit's whole analysis of the file, all
// cores (GOMAXPROCS).
func BenchmarkAnalyzeFile(b *testing.B) { benchAnalyzeMode(b, Options{}, 1) }

// BenchmarkDecodeFileEncodingJSON: the file through bufio.Scanner and
// encoding/json into auditv1.Event in one goroutine, as existing tools do.
func BenchmarkDecodeFileEncodingJSON(b *testing.B) { benchDecodeFile(b, 1) }

// BenchmarkDecodeFileEncodingJSONParallel: the same baseline spread over
// GOMAXPROCS workers, to compare parsers rather than pipelines.
func BenchmarkDecodeFileEncodingJSONParallel(b *testing.B) {
	benchDecodeFile(b, runtime.GOMAXPROCS(0))
}

// benchDecodeFile runs the encoding/json baseline with the given workers.
func benchDecodeFile(b *testing.B, workers int) {
	path, size := benchFile(b)
	var events int64
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		events = decodeFile(b, path, workers)
	}
	report(b, size, events, cpuSeconds()-cpu)
}

// decodeFile decodes every line; with several workers, batches of lines are
// handed out and events only counted (no aggregation), which favours the
// baseline.
func decodeFile(b *testing.B, path string, workers int) int64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	batches := make(chan [][]byte, workers)
	var mu sync.Mutex
	var events int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			for batch := range batches {
				for _, l := range batch {
					var ev auditv1.Event
					if err := json.Unmarshal(l, &ev); err != nil {
						b.Error(err)
						return
					}
					if ev.Stage != "" {
						n++
					}
				}
			}
			mu.Lock()
			events += n
			mu.Unlock()
		}()
	}
	var batch [][]byte
	for sc.Scan() {
		batch = append(batch, bytes.Clone(sc.Bytes()))
		if len(batch) == 1024 {
			batches <- batch
			batch = nil
		}
	}
	batches <- batch
	close(batches)
	wg.Wait()
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return events
}
