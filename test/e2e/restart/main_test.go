// Package restart_test runs `premortem restart` end to end against a lab of
// its own: a real kube-apiserver, etcd, controller-manager and scheduler,
// with kwok nodes whose pods become Ready. It does not share the e2e
// package's lab because it restarts everything in kube-system, which the
// incident scenarios there depend on, and it needs nodes with known images.
package restart_test

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	os.Exit(lab.TestMain(m, lab.Options{ControllerManager: true, Scheduler: true, Kwok: true}, nil, func(c *lab.Cluster) { cluster = c }))
}

// needLab skips a test under -short, when TestMain started no lab.
func needLab(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
}
