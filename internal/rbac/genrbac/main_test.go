package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/premortem/premortem/internal/rbac"
)

// root is the repository root, from this package's directory.
var root = filepath.Join("..", "..", "..")

// TestUpToDate fails when a committed manifest or the reference is stale: a
// check that reads a new kind changes the ClusterRole.
func TestUpToDate(t *testing.T) {
	files := map[string][]byte{
		filepath.Join("docs", filepath.FromSlash(rbac.ReferenceFile)):                               reference(),
		filepath.Join("deploy", "helm", "premortem", filepath.FromSlash(rbac.ChartClusterRoleFile)): chartRole(),
	}
	for name, data := range manifests() {
		files[filepath.Join("deploy", "rbac", name)] = data
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%v; generate it with: make docs", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; regenerate it with: make docs", filepath.ToSlash(name))
		}
	}
}
