// Package restart_test runs `premortem restart` end to end against a lab of
// its own: a real kube-apiserver, etcd, controller-manager and scheduler,
// with kwok nodes whose pods become Ready. It does not share the e2e
// package's lab because it restarts everything in kube-system, which the
// incident scenarios there depend on, and it needs nodes with known images.
package restart_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips: no lab
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := lab.Start(ctx, lab.Options{ControllerManager: true, Scheduler: true, Kwok: true, Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "restart e2e: start lab: %v\n", err)
		return 1
	}
	defer c.Close()
	cluster = c
	code := m.Run()
	if err := c.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "restart e2e: a lab component died during the tests: %v\n", err)
		code = 1
	}
	return code
}

// needLab skips a test under -short, when TestMain started no lab.
func needLab(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
}
