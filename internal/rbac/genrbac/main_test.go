package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// dir is deploy/rbac, from this package's directory.
var dir = filepath.Join("..", "..", "..", "deploy", "rbac")

// TestManifestsUpToDate fails when a committed manifest is stale: a check
// that reads a new kind changes the ClusterRole.
func TestManifestsUpToDate(t *testing.T) {
	for name, want := range generate() {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%v; generate it with: make docs", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/rbac/%s is stale; regenerate it with: make docs", name)
		}
	}
}
