package audit

import (
	"context"
	"net/netip"
	"testing"
)

// The modes of refs --audit and audit --compare on the benchmark file
// (docs/benchmarks.md): their cost next to BenchmarkAnalyzeFile.

// BenchmarkAnalyzeFileVerbResourceFlight: the analysis with the second
// concurrency sweep, per verb and resource, that --compare runs.
func BenchmarkAnalyzeFileVerbResourceFlight(b *testing.B) {
	benchAnalyzeMode(b, Options{VerbResourceFlight: true}, 1)
}

// BenchmarkAnalyzeFileOutside: the analysis with refs --audit's
// classification of every client address (kubelets are nodes, 10.67.0.0/16
// pods, the rest outside).
func BenchmarkAnalyzeFileOutside(b *testing.B) {
	pods := netip.MustParsePrefix("10.67.0.0/16")
	nodes := netip.MustParsePrefix("10.64.0.0/16")
	benchAnalyzeMode(b, Options{Outside: &OutsideOptions{Classify: func(a netip.Addr) string {
		switch {
		case pods.Contains(a):
			return "pod"
		case nodes.Contains(a):
			return "node"
		}
		return ""
	}}}, 1)
}

// BenchmarkCompareFile: audit --compare of the file with itself (two full
// analyses with the verb and resource sweep); MB/s counts both reads.
func BenchmarkCompareFile(b *testing.B) {
	benchAnalyzeMode(b, Options{}, 2)
}

func benchAnalyzeMode(b *testing.B, opts Options, reads int64) {
	path, size := benchFile(b)
	benchAnalyzePaths(b, []string{path}, size, opts, reads)
}

// benchAnalyzePaths analyses paths (size bytes in all) with opts, or
// compares them with themselves when reads is 2, and reports the rate.
func benchAnalyzePaths(b *testing.B, paths []string, size int64, opts Options, reads int64) {
	ins, _, err := Inputs(paths, nil)
	if err != nil {
		b.Fatal(err)
	}
	var events int64
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		if reads == 2 {
			c, err := Compare(context.Background(), ins, opts, ins, opts)
			if err != nil {
				b.Fatal(err)
			}
			events = c.Before.Events + c.After.Events
			continue
		}
		r, err := Analyze(context.Background(), ins, opts)
		if err != nil {
			b.Fatal(err)
		}
		events = r.Events
	}
	report(b, reads*size, events, cpuSeconds()-cpu)
}
