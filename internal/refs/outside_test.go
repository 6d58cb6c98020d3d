package refs

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/output/outputtest"
	"github.com/premortem/premortem/internal/snapshot"
)

func TestInsideClassify(t *testing.T) {
	in := NewInside([]netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")})
	in.Visit(snapshot.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.244.1.7"}, {IP: "fd00::7"}}}})
	// A host-network pod's IP is its node's: not a pod address.
	in.Visit(snapshot.Pods, &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true}, Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "203.0.113.9"}}}})
	in.AddSnapshot(&snapshot.Snapshot{Nodes: []corev1.Node{{
		Spec:   corev1.NodeSpec{PodCIDR: "10.245.3.0/24"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.64.0.11"}, {Type: corev1.NodeHostName, Address: "worker-1"}}},
	}}})
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.64.0.11": "node", "10.244.1.7": "pod", "fd00::7": "pod",
		"10.245.3.200": "pod", "100.64.9.9": "cluster CIDR", "203.0.113.9": "", "198.51.100.7": "", "10.244.1.8": "",
	} {
		if got := in.Classify(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
	if c := in.counts; c.Nodes != 1 || c.NodeAddresses != 1 || c.Pods != 2 || c.PodAddresses != 2 || len(c.PodCIDRs) != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestOutsideAndCertTablesEscape(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	o := &OutsideResult{Inputs: []audit.InputSummary{{Name: "a.log"}}, OutsideReport: &audit.OutsideReport{
		Requests: map[string]int64{"outside": 1},
		Identities: []audit.OutsideIdentity{{User: outputtest.Evil, Requests: 1, First: now, Last: now,
			UserAgents: []audit.NamedCount{{Name: outputtest.Evil, Requests: 1}}, Sources: []audit.NamedCount{{Name: "192.0.2.1", Requests: 1}}}},
	}}
	var b bytes.Buffer
	if err := WriteOutside(&b, "table", o); err != nil {
		t.Fatal(err)
	}
	outputtest.CheckEscaped(t, "refs --audit", b.String(), "| forged")
	yes := true
	c := &CertResult{Servers: []ServerCert{{Address: "127.0.0.1:6443", Via: "kubeconfig", Names: []NameCover{{Name: "x", Covered: &yes,
		Certificate: &snapshot.Certificate{Subject: "CN=" + outputtest.Evil, DNSNames: []string{outputtest.Evil}}}}}}}
	b.Reset()
	if err := WriteCertificates(&b, "table", c); err != nil {
		t.Fatal(err)
	}
	outputtest.CheckEscaped(t, "refs --cert", b.String(), "| forged")
}
