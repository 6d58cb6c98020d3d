package lab

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain runs a test package against one lab: it starts the lab with opts,
// hands it to use, runs setup (nil for none), runs the tests, fails the run
// if a component died meanwhile, and stops the lab. Under -short the package
// is skipped whole: its tests are end-to-end tests. Call it as
//
//	func TestMain(m *testing.M) { os.Exit(lab.TestMain(m, opts, setup, func(c *lab.Cluster) { cluster = c })) }
func TestMain(m *testing.M, opts Options, setup func(context.Context, *Cluster) error, use func(*Cluster)) int {
	flag.Parse()
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "lab: -short: skipping end-to-end tests")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab: %v\n", err)
		return 1
	}
	defer c.Close()
	use(c)
	if setup != nil {
		start := time.Now()
		if err := setup(ctx, c); err != nil {
			fmt.Fprintf(os.Stderr, "lab: setup: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "lab: setup done in %s\n", time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if err := c.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "lab: a component died during the tests: %v\n", err)
		code = 1
	}
	return code
}
