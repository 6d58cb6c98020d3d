// Package measure_test runs `premortem measure` end to end against a lab of
// its own: the request counts it reports are compared with the API server's
// audit log, and the bursts it samples are made by the test, so no other
// package's load may share the API server.
package measure_test

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	// Re-run by `premortem measure -- <this test binary>`: be the load.
	if os.Getenv(loadEnv) != "" {
		os.Exit(load())
	}
	os.Exit(lab.TestMain(m, lab.Options{}, nil, func(c *lab.Cluster) { cluster = c }))
}

// needLab skips a test under -short, when TestMain started no lab.
func needLab(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
}
