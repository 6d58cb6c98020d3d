// Package preflight_test runs `premortem preflight` end to end against a
// lab of its own: a real kube-apiserver and etcd, with releases installed
// and upgraded by Helm's own SDK. It does not share the e2e package's lab
// because it installs, upgrades and deletes things. No controller-manager:
// the tests look at what Helm deletes, and nothing must clean up behind it.
package preflight_test

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	os.Exit(lab.TestMain(m, lab.Options{}, nil, func(c *lab.Cluster) { cluster = c }))
}
