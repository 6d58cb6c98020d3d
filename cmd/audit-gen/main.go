// Command audit-gen writes a deterministic synthetic Metadata-level audit log
// for benchmarking premortem audit (see docs/benchmarks.md).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/premortem/premortem/internal/audit"
)

func main() {
	size := flag.Int64("bytes", 1<<30, "stop after this many bytes")
	seed := flag.Uint64("seed", 1, "random seed")
	rate := flag.Float64("rate", 2000, "requests per second of log time")
	flag.Parse()
	st, err := audit.Generate(os.Stdout, audit.GenerateOptions{Seed: *seed, Bytes: *size, Rate: *rate})
	if err != nil {
		fmt.Fprintln(os.Stderr, "audit-gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "audit-gen: %d bytes, %d lines, %d requests\n", st.Bytes, st.Lines, st.Requests)
}
