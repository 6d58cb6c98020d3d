package access

import (
	"testing"

	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestClusterWideNodeAgent(t *testing.T) {
	checktest.Run(t, ClusterWideNodeAgent, "testdata/cluster-wide-node-agent")
}
