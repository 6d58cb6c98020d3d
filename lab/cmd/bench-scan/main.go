// Command bench-scan measures what one `premortem scan` costs on a large
// cluster: it starts a lab (API server and etcd only: no kubelet, no
// controllers), creates Nodes, Pods of realistic size (managedFields
// included), Deployments, Services, ConfigMaps and Secrets directly through
// the API, then runs the premortem binary once as a child process and reports
// requests by verb (from the audit log), bytes received, wall time and peak
// RSS, and whether every LIST was served with watch-cache semantics.
//
//	go run ./lab/cmd/bench-scan -premortem bin/premortem [-nodes 5000 -pods 150000 ...]
//
// It is not part of `make test`: `make bench-scan` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/premortem/premortem/lab"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench-scan: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var sz sizes
	flag.IntVar(&sz.nodes, "nodes", 5000, "Node objects")
	flag.IntVar(&sz.pods, "pods", 150000, "Pod objects (spread over the nodes and namespaces)")
	flag.IntVar(&sz.namespaces, "namespaces", 500, "namespaces")
	flag.IntVar(&sz.deployments, "deployments", 5000, "Deployments")
	flag.IntVar(&sz.services, "services", 5000, "Services")
	flag.IntVar(&sz.configMaps, "configmaps", 20000, "ConfigMaps")
	flag.IntVar(&sz.largeConfigMaps, "large-configmaps", 0, "of the ConfigMaps, how many hold 500 KB to 1 MiB of data (no workload mounts them)")
	flag.IntVar(&sz.secrets, "secrets", 10000, "Secrets")
	flag.IntVar(&sz.podBytes, "pod-bytes", 16384, "target JSON size of one pod, managedFields included")
	workers := flag.Int("workers", 48, "concurrent creates")
	binary := flag.String("premortem", "bin/premortem", "the premortem binary to measure")
	keep := flag.Bool("keep", false, "keep the lab running after the scans until Ctrl-C")
	scans := flag.Int("scans", 3, "scans to run (each measured on its own)")
	uncompressed := flag.Bool("uncompressed", true, "also run the scans with --disable-compression")
	labMemLimit := flag.String("lab-gomemlimit", "", "GOMEMLIMIT for the lab's kube-apiserver and etcd (the API server holds ~170 KB per pod); premortem runs without it")
	agentWindow := flag.Duration("agent", 0, "after the scans, run `premortem agent` and measure it: time to ready, then RSS and requests over this steady `WINDOW` (make bench-agent)")
	touched := flag.Bool("touch", false, "before each scan, change one object of each large kind, as a live cluster's writes do (see touch.go)")
	attach := flag.String("attach", "", "measure scans of a running lab instead of building one: its directory (admin.kubeconfig, audit.log)")
	flag.Parse()
	scanArgs := flag.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := os.Stat(*binary); err != nil {
		return fmt.Errorf("premortem binary %s: %w (build it with `make build`)", *binary, err)
	}
	if *labMemLimit != "" {
		// Inherited by the lab's processes; runScan removes it for premortem.
		os.Setenv("GOMEMLIMIT", *labMemLimit)
	}
	var kubeconfig, auditLog string
	var cfg *rest.Config
	if *attach != "" {
		kubeconfig, auditLog = filepath.Join(*attach, "admin.kubeconfig"), filepath.Join(*attach, "audit.log")
		var err error
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			return err
		}
	} else {
		c, err := lab.Start(ctx, lab.Options{Log: os.Stderr})
		if err != nil {
			return err
		}
		defer c.Close()
		kubeconfig, auditLog, cfg = c.Kubeconfig, c.AuditLog, c.Config
	}

	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling: the API server is the limit
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b := &builder{cs: cs, sz: sz, workers: *workers}
	var buildTime time.Duration
	if *attach == "" {
		start := time.Now()
		if err := b.build(ctx); err != nil {
			return err
		}
		buildTime = time.Since(start)
		fmt.Fprintf(os.Stderr, "bench-scan: cluster built in %s\n", buildTime.Round(time.Second))
	} else if err := b.countObjects(ctx); err != nil {
		return err
	}
	header(os.Stdout, b.sz, b, buildTime)
	variants := [][]string{nil}
	if *uncompressed {
		variants = append(variants, []string{"--disable-compression"})
	}
	for _, extra := range variants {
		for range *scans {
			args := append(append([]string{"-v", "scan", "--kubeconfig", kubeconfig, "-o", "json"}, extra...), scanArgs...)
			if *touched {
				if err := touch(ctx, cs); err != nil {
					return err
				}
			}
			if err := measure(ctx, auditLog, cs, *binary, args); err != nil {
				return err
			}
		}
	}
	if *agentWindow > 0 {
		if err := measureAgent(ctx, auditLog, kubeconfig, *binary, *agentWindow); err != nil {
			return err
		}
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "bench-scan: lab kept; KUBECONFIG=%s; Ctrl-C to stop\n", kubeconfig)
		<-ctx.Done()
	}
	return nil
}
