package namespaces

import (
	"testing"

	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestStuckTerminating(t *testing.T) {
	checktest.Run(t, StuckTerminating, "testdata/namespace-stuck-terminating")
}
