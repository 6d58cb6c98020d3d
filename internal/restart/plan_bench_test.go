package restart

import (
	"fmt"
	"io"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

// benchSnapshot is a large cluster: 10,000 workloads (7,000 Deployments,
// 2,000 StatefulSets, 1,000 DaemonSets) in 500 namespaces, plus a calico
// kube-system; 1,000 nodes in 10 pools, each reporting 40 images (complete
// lists, so every image lookup is a real one); one PDB per 5 workloads.
func benchSnapshot() *snapshot.Snapshot {
	c := cluster{}
	pool := func(i int) string { return fmt.Sprintf("pool-%d", i%10) }
	for i := range 1000 {
		var imgs []string
		for j := range 40 {
			imgs = append(imgs, image(fmt.Sprintf("app-%d", (i*7+j*13)%7000)))
		}
		n := node(fmt.Sprintf("node-%04d", i), imgs...)
		n.Labels["pool"] = pool(i)
		if i%100 == 0 {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}}
		}
		c.nodes = append(c.nodes, n)
	}
	for i := range 10000 {
		ns, name := fmt.Sprintf("team-%03d", i%500), fmt.Sprintf("app-%d", i)
		switch {
		case i < 7000:
			c.deployments = append(c.deployments, deployment(ns, name, int32(1+i%4), nodeSelector("pool", pool(i))))
		case i < 9000:
			c.statefulSets = append(c.statefulSets, statefulSet(ns, name, 3))
		default:
			c.daemonSets = append(c.daemonSets, daemonSet(ns, name, 1000))
		}
		if i%5 == 0 {
			c.pdbs = append(c.pdbs, pdb(ns, name, name, int32(i%2)))
		}
	}
	c.deployments = append(c.deployments, deployment("kube-system", "calico-typha", 3), deployment("kube-system", "coredns", 2))
	c.daemonSets = append(c.daemonSets, daemonSet("kube-system", "calico-node", 1000), daemonSet("kube-system", "kube-proxy", 1000))
	c.pdbs = append(c.pdbs, []policyv1.PodDisruptionBudget{pdb("kube-system", "calico-typha", "calico-typha", 1)}...)
	return c.snapshot()
}

// BenchmarkPlan10k measures planning 10,000 workloads (the figure in
// docs/benchmarks.md): go test -run '^$' -bench Plan10k -benchmem ./internal/restart/
func BenchmarkPlan10k(b *testing.B) {
	snap := benchSnapshot()
	opts := Options{RunID: "r-bench", Concurrency: 10}
	b.ResetTimer()
	var p *Plan
	for b.Loop() {
		var err error
		if p, err = NewPlan(snap, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := len(p.Steps); got != 10004 {
		b.Fatalf("%d steps, want 10004", got)
	}
	b.ReportMetric(float64(p.Counts.Restart), "restart")
	b.ReportMetric(float64(p.Counts.Skip), "held")
}

// BenchmarkPlan10kRender adds rendering the table, as the CLI does.
func BenchmarkPlan10kRender(b *testing.B) {
	snap := benchSnapshot()
	opts := Options{RunID: "r-bench", Concurrency: 10}
	for b.Loop() {
		p, err := NewPlan(snap, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := WritePlan(io.Discard, "table", p); err != nil {
			b.Fatal(err)
		}
	}
}
