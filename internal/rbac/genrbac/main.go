// Command genrbac writes deploy/rbac, the manifests of premortem's
// least-privilege RBAC, the Helm chart's ClusterRole template
// (deploy/helm/premortem/templates/clusterrole.yaml), and
// docs/reference/rbac.md, what they grant and why, from the check catalog:
//
//	go generate ./internal/rbac
//
// (which runs `go run ./genrbac -dir ../../deploy/rbac -docs ../../docs -chart
// ../../deploy/helm/premortem`;
// `make docs` runs it too). Its test fails when a committed file differs
// from what it generates.
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
	docs := flag.String("docs", "docs", "the docs directory to write the reference into")
	chart := flag.String("chart", "deploy/helm/premortem", "the Helm chart to write the ClusterRole template into")
	flag.Parse()
	if err := write(*dir, *docs, *chart); err != nil {
		fmt.Fprintf(os.Stderr, "genrbac: %v\n", err)
		os.Exit(1)
	}
}

func write(dir, docs, chart string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := manifests()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(chart, filepath.FromSlash(rbac.ChartClusterRoleFile)), chartRole(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(docs, filepath.FromSlash(rbac.ReferenceFile)), reference(), 0o644)
}

// chartRole returns the Helm chart's ClusterRole template.
func chartRole() []byte { return rbac.ChartClusterRole(checks.All()) }

// manifests returns every manifest by its file name under deploy/rbac.
func manifests() map[string][]byte { return rbac.Manifests(rbac.Default, checks.All()) }

// reference returns docs/reference/rbac.md.
func reference() []byte { return rbac.Reference(checks.All()) }
