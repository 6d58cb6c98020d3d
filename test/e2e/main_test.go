// Package e2e runs premortem against a real control plane: one lab per test
// package (started in TestMain), with every incident scenario applied.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/lab/scenario"
)

// cluster is the lab shared by every test in this package; the five incident
// scenarios are applied to it before any test runs.
var cluster *lab.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := scenario.LabOptions()
	opts.Log = os.Stderr
	c, err := lab.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start lab: %v\n", err)
		return 1
	}
	defer c.Close()
	cluster = c
	start := time.Now()
	if err := scenario.ApplyAll(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: scenarios applied in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if err := c.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: a lab component died during the tests: %v\n", err)
		code = 1
	}
	return code
}
