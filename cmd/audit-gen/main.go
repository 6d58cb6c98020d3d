// Command audit-gen writes a deterministic synthetic Metadata-level audit log
// for benchmarking premortem audit (see docs/benchmarks.md), and long logs
// with LIST storms for its HTML view:
//
//	audit-gen -duration 96h -rate 0.05 -storm 2h/30s > four-days.log
//
// and logs with a known LIST fan-out (incident 004's deletion webhook):
//
//	audit-gen -duration 1m -deletes 5s/4s/8/25 > fanout.log
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
	var deletes []audit.WebhookDeletes
	flag.Func("deletes", "node-group DELETEs `AT/EVERY/COUNT/LISTS[/mutating]`, each admitted by a webhook whose backend makes LISTS LISTs (repeatable)", func(s string) error {
		d, err := parseDeletes(s)
		deletes = append(deletes, d)
		return err
	})
	flag.Parse()
	bytesSet := false
	flag.Visit(func(f *flag.Flag) { bytesSet = bytesSet || f.Name == "bytes" })
	if *duration > 0 && !bytesSet {
		*size = 0
	}
	st, err := audit.Generate(os.Stdout, audit.GenerateOptions{Seed: *seed, Bytes: *size, Rate: *rate, Duration: *duration, Storms: storms,
		WebhookDeletes: deletes})
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

func parseDeletes(s string) (audit.WebhookDeletes, error) {
	var d audit.WebhookDeletes
	parts := strings.Split(s, "/")
	if len(parts) < 4 || len(parts) > 5 || (len(parts) == 5 && parts[4] != "mutating") {
		return d, fmt.Errorf("want AT/EVERY/COUNT/LISTS[/mutating], got %q", s)
	}
	var err error
	if d.At, err = time.ParseDuration(parts[0]); err != nil || d.At < 0 {
		return d, fmt.Errorf("deletes start %q: want a duration after the log's start", parts[0])
	}
	if d.Every, err = time.ParseDuration(parts[1]); err != nil || d.Every <= 0 {
		return d, fmt.Errorf("deletes interval %q: want a positive duration", parts[1])
	}
	if d.Count, err = strconv.Atoi(parts[2]); err != nil || d.Count < 1 || d.Count > 1e6 {
		return d, fmt.Errorf("deletes count %q: want 1 to 1000000", parts[2])
	}
	if d.Lists, err = strconv.Atoi(parts[3]); err != nil || d.Lists < 1 || d.Lists > 10000 {
		return d, fmt.Errorf("LISTs per delete %q: want 1 to 10000", parts[3])
	}
	d.Mutating = len(parts) == 5
	return d, nil
}
