package apiservice

import (
	"testing"

	"github.com/premortem/premortem/internal/checks/checktest"
)

func TestUnavailable(t *testing.T) {
	checktest.Run(t, Unavailable, "testdata/apiservice-unavailable")
}
