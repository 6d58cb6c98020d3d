// Command genrbac writes deploy/rbac, the manifests of premortem's
// least-privilege RBAC, from the check catalog:
//
//	go generate ./internal/rbac
//
// (which runs `go run ./genrbac -dir ../../deploy/rbac`; `make docs` runs
// it too). Its test fails when a committed manifest differs from what it
// generates.
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/rbac"
)

func main() {
	dir := flag.String("dir", "deploy/rbac", "the directory to write the manifests into")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "genrbac: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := generate()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// generate returns every manifest by its file name under deploy/rbac.
func generate() map[string][]byte { return rbac.Manifests(rbac.Default, checks.All()) }
