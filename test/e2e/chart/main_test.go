// Package chart_test installs premortem's Helm chart (deploy/helm/premortem)
// into a lab of its own with Helm's SDK and runs the agent, the built
// binary, as the chart's ServiceAccount; and runs the Helm plugin
// (deploy/helm-plugin) in the real helm CLI, pinned and built by
// tools/build.sh, against releases in the same lab. Its own lab: it
// installs cluster-wide RBAC and releases. No controllers: nothing here
// needs a pod to run.
package chart_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	code := lab.TestMain(m, lab.Options{}, nil, func(c *lab.Cluster) { cluster = c })
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needLab skips a test under -short, when TestMain started no lab.
func needLab(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
}

// root is the repository root, from this package's directory.
var root, _ = filepath.Abs(filepath.Join("..", "..", ".."))

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// premortem builds the binary once for the package's tests, into a
// directory of its own (the helm plugin finds it on PATH there).
func premortem(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "premortem-chart-e2e-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "premortem"), "github.com/premortem/premortem/cmd/premortem").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "premortem")
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }
