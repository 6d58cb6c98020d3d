// Package agent_test runs `premortem agent`, the built binary, against a
// lab of its own, as a ServiceAccount bound to the generated ClusterRole
// (deploy/rbac/clusterrole.yaml): the seed scenarios applied while it runs
// appear in its metrics and findings, its findings equal a scan's, it only
// watches once synced, and it survives an API server outage.
package agent_test

import (
	"os"
	"testing"

	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/lab/scenario"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) {
	// No scenario before the test: the agent must see them arrive.
	os.Exit(lab.TestMain(m, scenario.LabOptions(), nil, func(c *lab.Cluster) { cluster = c }))
}
