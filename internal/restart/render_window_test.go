package restart

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/snapshot"
)

// windowCluster is goldenCluster with Calico's BGP kinds (two core-router
// peers at BIRD's default, no node mesh), typha at two replicas with a
// readiness delay longer than the window, and a pre-pull DaemonSet an
// earlier run left; planned with --prepull.
func windowCluster() cluster {
	c := goldenCluster()
	off := false
	c.calico = true
	c.bgpConfigs = []snapshot.BGPConfiguration{bgpConfig(&off, "")}
	c.bgpPeers = []snapshot.BGPPeer{bgpPeer("cr1-eqiad", ""), bgpPeer("cr2-eqiad", "")}
	c.deployments[0] = deployment("kube-system", "calico-typha", 2, readiness(130, 10, 1))
	left := daemonSet("kube-system", "premortem-prepull-0123456789ab", 3)
	left.Labels = map[string]string{PrepullLabel: left.Name}
	left.Annotations = map[string]string{PrepullRunAnnotation: "r20260921-090000-0001", PrepullForAnnotation: "deployment/kube-system/calico-typha"}
	c.daemonSets = append([]appsv1.DaemonSet(nil), c.daemonSets...)
	c.daemonSets = append(c.daemonSets, left)
	return c
}

func TestWritePlanWindowGolden(t *testing.T) {
	p := plan(t, windowCluster().snapshot(), Options{RunID: "r20260921-100000-abcd", Concurrency: 2, Prepull: true})
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePlan(&buf, format, p); err != nil {
				t.Fatal(err)
			}
			if format == "json" && !json.Valid(buf.Bytes()) {
				t.Fatal("invalid JSON")
			}
			golden.Check(t, filepath.Join("testdata", "plan-window."+format+".golden"), buf.Bytes())
		})
	}
}
