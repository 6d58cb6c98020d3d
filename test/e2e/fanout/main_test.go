// Package fanout_test runs incident 004's webhook fan-out for real: a
// webhook served from the test, registered with a lab's API server, whose
// backend lists pods on every DELETE it admits, as the node-group
// controller did; premortem audit must find the fan-out factor in the
// API server's own audit log. A lab of its own: the webhooks intercept
// deletions the shared lab's scenarios make.
package fanout_test

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	os.Exit(lab.TestMain(m, lab.Options{}, nil, func(c *lab.Cluster) { cluster = c }))
}
