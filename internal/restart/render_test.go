package restart

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/premortem/premortem/internal/golden"
)

// goldenCluster looks like incident 003's cluster on the morning of the
// restart: a single typha replica, calico-node fully ready, one node without
// the typha image.
func goldenCluster() cluster {
	typhaImg, nodeImg := image("calico-typha"), image("calico-node")
	return cluster{
		deployments: []appsv1.Deployment{
			deployment("kube-system", "calico-typha", 1),
			deployment("kube-system", "coredns", 2),
			deployment("shop", "web", 3),
			deployment("shop", "api", 2, runAnnotated("r20260921-090000-0001")),
			deployment("shop", "batch", 0),
			deployment("blog", "web", 2, paused),
			deployment("search", "indexer", 2),
		},
		statefulSets: []appsv1.StatefulSet{statefulSet("shop", "db", 3)},
		daemonSets:   []appsv1.DaemonSet{daemonSet("kube-system", "calico-node", 3), daemonSet("kube-system", "kube-proxy", 3)},
		nodes: []corev1.Node{
			node("node-1", typhaImg, nodeImg, image("coredns"), image("web"), image("api"), image("db"), image("indexer")),
			node("node-2", typhaImg, nodeImg, image("coredns"), image("web"), image("api"), image("db"), image("indexer")),
			node("node-3", nodeImg, image("web"), image("api"), image("db"), image("indexer"), image("coredns")),
		},
		pdbs: []policyv1.PodDisruptionBudget{pdb("search", "indexer", "indexer", 0)},
	}
}

func TestWritePlanGolden(t *testing.T) {
	p := plan(t, goldenCluster().snapshot(), Options{RunID: "r20260921-100000-abcd", Concurrency: 2})
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePlan(&buf, format, p); err != nil {
				t.Fatal(err)
			}
			if format == "json" && !json.Valid(buf.Bytes()) {
				t.Fatal("invalid JSON")
			}
			golden.Check(t, filepath.Join("testdata", "plan."+format+".golden"), buf.Bytes())
		})
	}
	if err := WritePlan(&bytes.Buffer{}, "yaml", p); err == nil {
		t.Error("WritePlan yaml: no error")
	}
}
