// Command mkdist writes premortem's release archives, their sha256 sums and
// the filled krew manifest (`make dist`):
//
//	go run ./internal/dist/mkdist -version v0.3.0 -out dist
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/premortem/premortem/internal/dist"
)

func main() {
	version := flag.String("version", "dev", "the release's version (not semver: v0.0.0-dev-VERSION)")
	out := flag.String("out", "dist", "the directory to write into")
	root := flag.String("root", ".", "the repository root")
	manifest := flag.String("krew", "deploy/krew/premortem.yaml", "the krew manifest template")
	flag.Parse()
	// SOURCE_DATE_EPOCH is the reproducible-builds convention for the
	// archives' timestamps; without it, the epoch.
	t := time.Unix(0, 0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdist: SOURCE_DATE_EPOCH=%q: not a number of seconds\n", s)
			os.Exit(2)
		}
		t = time.Unix(n, 0)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if _, err := dist.Build(context.Background(), dist.Options{Root: *root, Out: *out, Version: *version, Time: t,
		Template: *manifest, Extra: []string{"README.md"}, Log: log}); err != nil {
		fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
		os.Exit(1)
	}
}
