package access

import (
	"testing"

	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestClusterWideNodeAgent(t *testing.T) {
	checktest.Run(t, ClusterWideNodeAgent, "testdata/cluster-wide-node-agent")
}

func TestHardcodedAPIServerAddress(t *testing.T) {
	checktest.Run(t, HardcodedAPIServerAddress, "testdata/hardcoded-apiserver-address")
}

func TestAPIServerEndpointsMismatch(t *testing.T) {
	checktest.Run(t, APIServerEndpointsMismatch, "testdata/apiserver-endpoints-mismatch")
}

func TestAPIServerCertNames(t *testing.T) {
	checktest.Run(t, APIServerCertNames, "testdata/apiserver-cert-names")
}

func TestAPFSharedPriorityLevel(t *testing.T) {
	checktest.Run(t, APFSharedPriorityLevel, "testdata/apf-shared-priority-level")
}
