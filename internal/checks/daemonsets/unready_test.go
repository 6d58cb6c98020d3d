package daemonsets

import (
	"testing"

	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestUnready(t *testing.T) { checktest.Run(t, Unready, "testdata/system-daemonset-unready") }
