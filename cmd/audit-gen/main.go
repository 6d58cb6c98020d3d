// Command audit-gen writes a deterministic synthetic Metadata-level audit log
// for benchmarking premortem audit (see docs/benchmarks.md), and long logs
// with LIST storms for its HTML view:
//
//	audit-gen -duration 96h -rate 0.05 -storm 2h/30s > four-days.log
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/audit"
)

func main() {
	size := flag.Int64("bytes", 1<<30, "stop after this many bytes (0: no limit; with -duration the default is no limit)")
	seed := flag.Uint64("seed", 1, "random seed")
	rate := flag.Float64("rate", 2000, "requests per second of log time")
	duration := flag.Duration("duration", 0, "stop after this much log time")
	var storms []audit.Storm
	flag.Func("storm", "a LIST storm `AT/LENGTH[/RATE]` after the start, e.g. 2h/30s/200 (repeatable)", func(s string) error {
		st, err := parseStorm(s)
		storms = append(storms, st)
		return err
	})
	flag.Parse()
	bytesSet := false
	flag.Visit(func(f *flag.Flag) { bytesSet = bytesSet || f.Name == "bytes" })
	if *duration > 0 && !bytesSet {
		*size = 0
	}
	st, err := audit.Generate(os.Stdout, audit.GenerateOptions{Seed: *seed, Bytes: *size, Rate: *rate, Duration: *duration, Storms: storms})
	if err != nil {
		fmt.Fprintln(os.Stderr, "audit-gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "audit-gen: %d bytes, %d lines, %d requests\n", st.Bytes, st.Lines, st.Requests)
}

func parseStorm(s string) (audit.Storm, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return audit.Storm{}, fmt.Errorf("want AT/LENGTH[/RATE], got %q", s)
	}
	var st audit.Storm
	var err error
	if st.At, err = time.ParseDuration(parts[0]); err != nil || st.At < 0 {
		return st, fmt.Errorf("storm start %q: want a duration after the log's start", parts[0])
	}
	if st.Length, err = time.ParseDuration(parts[1]); err != nil || st.Length <= 0 {
		return st, fmt.Errorf("storm length %q: want a positive duration", parts[1])
	}
	if len(parts) == 3 {
		if st.Rate, err = strconv.ParseFloat(parts[2], 64); err != nil || st.Rate <= 0 {
			return st, fmt.Errorf("storm rate %q: want LISTs per second", parts[2])
		}
	}
	return st, nil
}
