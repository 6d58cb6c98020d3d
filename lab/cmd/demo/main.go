// Command demo starts a lab, applies every scenario (the incidents' latent
// conditions, and the well-run namespace that must stay quiet), runs
// `premortem scan` against it as a user would, and tears everything down.
//
//	go run ./lab/cmd/demo [-premortem bin/premortem] [-keep] [-- scan flags...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/lab/scenario"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	binary := flag.String("premortem", "bin/premortem", "the premortem binary to run against the lab")
	keep := flag.Bool("keep", false, "leave the lab running after the scan until Ctrl-C, and print how to reach it")
	save := flag.String("save", "", "also save a snapshot of the lab to this path (how examples/incidents.json.gz is made)")
	flag.Parse()
	scanArgs := flag.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if _, err := os.Stat(*binary); err != nil {
		return fmt.Errorf("premortem binary %s: %w (build it with `make build`)", *binary, err)
	}
	opts := scenario.LabOptions()
	opts.Log = os.Stderr
	c, err := lab.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "demo: stopping the lab: %v\n", err)
		}
		fmt.Fprintln(os.Stderr, "demo: lab stopped and removed")
	}()

	for _, s := range scenario.All() {
		start := time.Now()
		if err := s.Apply(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "demo: applied %s (%s): %s\n", s.Name, time.Since(start).Round(time.Millisecond), s.Summary)
	}

	if *save != "" {
		// --force: the lab is incomplete by design (scenario 004 breaks
		// metrics.k8s.io's discovery), and -save means to replace the file.
		cmd := exec.CommandContext(ctx, *binary, "snapshot", "save", *save, "--force", "--kubeconfig", c.Kubeconfig)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// Exit 3 means saved with a gap: the unavailable APIService of
		// scenario 004 is part of the picture.
		var exit *exec.ExitError
		if err := cmd.Run(); err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) {
			return fmt.Errorf("snapshot save: %w", err)
		}
		fmt.Fprintf(os.Stderr, "demo: saved a snapshot of the lab to %s\n", *save)
	}

	args := append([]string{"scan", "--kubeconfig", c.Kubeconfig}, scanArgs...)
	fmt.Fprintf(os.Stderr, "\ndemo: $ premortem %s\n\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, *binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		// A scan that finds problems exits non-zero by design; the demo
		// exists to show them, so only a crash or a usage error fails it.
		fmt.Fprintf(os.Stderr, "\ndemo: premortem exited %d (see README: exit codes)\n", exit.ExitCode())
		if exit.ExitCode() == 2 || exit.ExitCode() < 0 {
			return fmt.Errorf("premortem scan failed")
		}
	} else if err != nil {
		return err
	}

	if *keep {
		fmt.Fprintf(os.Stderr, "\ndemo: the lab is still running. Try:\n  export KUBECONFIG=%s\n  %s scan\n  %s audit %s\nPress Ctrl-C to stop it.\n",
			c.Kubeconfig, *binary, *binary, c.AuditLog)
		<-ctx.Done()
	}
	return nil
}
