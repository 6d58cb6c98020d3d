// Package e2e runs premortem against a real control plane: one lab per test
// package (started in TestMain), with every incident scenario applied.
package e2e

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/lab/scenario"
)

// cluster is the lab shared by every test in this package; the five incident
// scenarios are applied to it before any test runs.
var cluster *lab.Cluster

func TestMain(m *testing.M) {
	os.Exit(lab.TestMain(m, scenario.LabOptions(), scenario.ApplyAll, func(c *lab.Cluster) { cluster = c }))
}
