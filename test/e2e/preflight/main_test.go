// Package preflight_test runs `premortem preflight` end to end against a
// lab of its own: a real kube-apiserver and etcd, with releases installed
// and upgraded by Helm's own SDK. It does not share the e2e package's lab
// because it installs, upgrades and deletes things. No controller-manager:
// the tests look at what Helm deletes, and nothing must clean up behind it.
package preflight_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/premortem/premortem/lab"
)

var cluster *lab.Cluster

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := lab.Start(ctx, lab.Options{Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "preflight e2e: start lab: %v\n", err)
		return 1
	}
	defer c.Close()
	cluster = c
	code := m.Run()
	if err := c.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "preflight e2e: a lab component died during the tests: %v\n", err)
		code = 1
	}
	return code
}
