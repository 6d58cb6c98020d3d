// Command gendocs writes docs/reference/checks.md from the check catalog:
//
//	go generate ./internal/checks
//
// (which runs `go run ./gendocs -o ../../docs/reference/checks.md`). A test in
// internal/checks fails when the committed file differs from its output.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/report"
)

func main() {
	out := flag.String("o", "docs/reference/checks.md", "file to write")
	flag.Parse()
	var b bytes.Buffer
	if err := report.WriteReference(&b, checks.All()); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
