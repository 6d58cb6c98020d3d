package nodes

import (
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestChecks(t *testing.T) {
	for _, c := range []*check.Check{VersionDrift, NotReady} {
		t.Run(c.ID, func(t *testing.T) { checktest.Run(t, c, "testdata/"+c.ID) })
	}
}
