package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when a committed generated document is stale.
func TestDocsUpToDate(t *testing.T) {
	docs, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range docs {
		path := filepath.Join("..", "..", "..", "docs", name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v; generate it with: make docs", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale; regenerate it with: make docs", filepath.ToSlash(name))
		}
	}
}
