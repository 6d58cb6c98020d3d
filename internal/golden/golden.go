// Package golden compares test output with golden files and rewrites them
// when the tests run with -update. Only tests import it; it defines the one
// -update flag of every package that does, so no test file may define its own.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing against them")

// Update reports whether the tests run with -update, for tests that also
// regenerate their inputs.
func Update() bool { return *update }

// Check compares got with the file at path; with -update it writes got there
// instead, creating the directory if needed.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (%s creates it)", err, command())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (%s rewrites it):\n--- got\n%s\n--- want\n%s", path, command(), got, want)
	}
}

// command is the go test command that regenerates the golden files of the
// package under test. go test runs tests in the package's directory, so it
// is that directory relative to the module root (the nearest go.mod).
func command() string {
	wd, err := os.Getwd()
	if err != nil {
		return "go test -update"
	}
	for root := wd; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			rel, err := filepath.Rel(root, wd)
			if err != nil {
				break
			}
			return "go test ./" + filepath.ToSlash(rel) + " -update"
		}
		parent := filepath.Dir(root)
		if parent == root {
			break
		}
		root = parent
	}
	return "go test -update"
}
