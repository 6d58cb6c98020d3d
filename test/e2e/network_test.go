package e2e

import (
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/lab/scenario"
)

// TestNetworkChecks: each network check finds its scenario's objects (131,
// 135, 136, 140, 143, 147, 151) through a real API server, at the expected
// severity, and the scan reads each kind they need with one LIST chain.
// The lab is young and small: min-age, the lease names and the Service
// range threshold are set with --param.
func TestNetworkChecks(t *testing.T) {
	before := auditSize(t)
	res := scanJSON(t,
		"--param", "system-service-no-endpoints.min-age=0s",
		"--param", "control-plane-leader-stale.leases="+scenario.NetControlPlane+"/kube-scheduler",
		"--param", "service-cidr-exhaustion.max-used=0.04",
	)
	chains := premortemLists(t, before)
	for _, k := range []string{"services.", "endpointslices.discovery.k8s.io", "servicecidrs.networking.k8s.io",
		"leases.coordination.k8s.io", "nodes.", "deployments.apps", "pods."} {
		if chains[k] == nil {
			t.Errorf("%s not listed", k)
		}
	}
	for _, n := range res.NotRun {
		for _, c := range []string{"system-service-no-endpoints", "cluster-dns-replicas", "service-cidr-exhaustion",
			"control-plane-leader-stale", "node-pressure", "kubelet-version-skew", "nodes-cordoned"} {
			if n.ID == c {
				t.Errorf("check %s did not run: %s", n.ID, n.Reason)
			}
		}
	}
	tests := []struct {
		id, first string
		minSev    check.Severity
		contains  string // in the message
	}{
		{"cluster-dns-replicas", "Deployment " + scenario.NetDNSNamespace + "/coredns", check.Medium, "runs 1 replica(s)"},
		{"system-service-no-endpoints", "Service " + scenario.NetDNSDownNamespace + "/kube-dns", check.Critical, "matches 1 pod, 0 ready"},
		{"service-cidr-exhaustion", "ServiceCIDR kubernetes", check.High, "10.0.0.0/24"},
		{"control-plane-leader-stale", "Lease " + scenario.NetControlPlane + "/kube-scheduler", check.Critical, "nothing schedules"},
		{"kubelet-version-skew", "Node " + scenario.NetNewKubelet, check.High, "v1.37.0"},
		{"kubelet-version-skew", "Node " + scenario.NetOldKubelet, check.High, "v1.32.9"},
		{"node-pressure", "Node " + scenario.NetPressureNode, check.High, "DiskPressure=True"},
		{"nodes-cordoned", "Node " + scenario.NetCordonedNodes + "1", check.Medium, "cordoned for more than 1d: " + scenario.NetCordonedNodes + "1, " + scenario.NetCordonedNodes + "2"},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.first, func(t *testing.T) {
			fs := findingFor(res, tt.id, tt.first)
			if len(fs) != 1 {
				var got []string
				for _, f := range res.Findings {
					if f.ID == tt.id {
						got = append(got, f.Title)
					}
				}
				t.Fatalf("%d %s findings on %s, want 1; its findings: %v", len(fs), tt.id, tt.first, got)
			}
			if fs[0].Severity < tt.minSev {
				t.Errorf("severity %s, want at least %s: %s", fs[0].Severity, tt.minSev, fs[0].Title)
			}
			if !strings.Contains(fs[0].Message, tt.contains) {
				t.Errorf("message lacks %q: %s", tt.contains, fs[0].Message)
			}
		})
	}
	if fs := findingFor(res, "service-cidr-exhaustion", "ServiceCIDR kubernetes"); len(fs) == 1 {
		if used, _ := fs[0].Evidence["used"].(float64); used < scenario.NetServiceCount {
			t.Errorf("used = %v ClusterIPs, want at least the scenario's %d", fs[0].Evidence["used"], scenario.NetServiceCount)
		}
	}
	// The lab's kubelets one minor behind (lab-node-6, -7) are in policy.
	for _, f := range res.Findings {
		if f.ID == "kubelet-version-skew" && (hasObject(f, "Node lab-node-6") || hasObject(f, "Node lab-node-1")) {
			t.Errorf("kubelet in policy reported: %s", f.Title)
		}
	}
}

// TestNetworkChecksQuietByDefault: with default parameters the lab's control
// plane (no leader election, so no Lease) and its Service range are not
// findings.
func TestNetworkChecksQuietByDefault(t *testing.T) {
	res := scanJSON(t)
	for _, f := range res.Findings {
		switch f.ID {
		case "control-plane-leader-stale", "service-cidr-exhaustion":
			t.Errorf("%s reported with default parameters: %s", f.ID, f.Title)
		}
	}
}
