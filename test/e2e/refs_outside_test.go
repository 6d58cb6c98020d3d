package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/refs"
	"github.com/premortem/premortem/lab/scenario"
)

// TestRefsAuditOutsideClient is incident 002's checker in the lab's audit
// log: scenario 002-outside-client calls the API server as toolschecker from
// a VM address, and as another identity from a pod's IP. refs --audit reads
// the lab's nodes and pods (one LIST chain each) and lists the checker, not
// the in-cluster agent, nor the loopback clients (the controllers, the
// scheduler, kwok, this test).
func TestRefsAuditOutsideClient(t *testing.T) {
	offset := auditSize(t)
	code, out, stderr := premortemCLI(t, "refs", "--audit", "--kubeconfig", cluster.Kubeconfig, "--chunk-size", "20", "-o", "json", cluster.AuditLog)
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d (an identity from outside)\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFindings, out, stderr)
	}
	var res refs.OutsideResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var users []string
	for _, id := range res.Identities {
		users = append(users, id.User)
	}
	if len(res.Identities) != 1 || res.Identities[0].User != scenario.OutsideClientUser {
		t.Fatalf("identities from outside %q, want only %s\n%s", users, scenario.OutsideClientUser, out)
	}
	id := res.Identities[0]
	if id.Requests < 4 || len(id.Sources) != 1 || id.Sources[0].Name != scenario.OutsideClientAddress ||
		len(id.UserAgents) != 1 || id.UserAgents[0].Name != scenario.OutsideClientUserAgent || id.First.IsZero() || id.Last.Before(id.First) {
		t.Errorf("toolschecker: %+v", id)
	}
	// The agent's requests came from a pod's IP, everyone else's from loopback.
	if res.Requests["pod"] < 4 || res.Requests["loopback"] == 0 || res.Known.Pods == 0 || res.Known.PodAddresses == 0 {
		t.Errorf("requests by class %v, known %+v", res.Requests, res.Known)
	}
	if !res.Complete() {
		t.Errorf("not read: %q", res.NotRead)
	}
	// Nodes and pods: one watch-cache LIST chain each, in pages.
	chains := premortemLists(t, offset)
	if len(chains) != 2 || chains["pods."] == nil || chains["nodes."] == nil {
		t.Errorf("LIST chains %v: want pods and nodes", chains)
	}
}

// TestRefsCertLabAPIServer asks the lab's API server, through its real
// serving certificate, about a name it covers, an IP SAN, and scenario
// 002's removed name, which it does not cover (exit 1). The lab publishes
// no default/kubernetes endpoints (--endpoint-reconciler-type=none): the
// kubeconfig's server is the one API server asked.
func TestRefsCertLabAPIServer(t *testing.T) {
	offset := auditSize(t)
	code, out, stderr := premortemCLI(t, "refs", "--cert", "--kubeconfig", cluster.Kubeconfig, "-o", "json",
		"kubernetes.default.svc", "127.0.0.1", removedName)
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d (a name not covered)\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFindings, out, stderr)
	}
	var res refs.CertResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	u, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Servers) != 1 || res.Servers[0].Address != u.Host || res.Servers[0].Via != "kubeconfig" {
		t.Fatalf("servers %+v, want only %s from the kubeconfig", res.Servers, u.Host)
	}
	want := map[string]bool{"kubernetes.default.svc": true, "127.0.0.1": true, removedName: false}
	for _, nc := range res.Servers[0].Names {
		if nc.Covered == nil || *nc.Covered != want[nc.Name] {
			t.Errorf("%s: covered %v, want %v (%s)", nc.Name, nc.Covered, want[nc.Name], nc.Error)
		}
		if nc.Certificate == nil || nc.Certificate.Subject != "CN=kube-apiserver" {
			t.Errorf("%s: certificate %+v, want the lab's kube-apiserver", nc.Name, nc.Certificate)
		}
	}
	// The only LIST: default/kubernetes EndpointSlices, by label.
	chains := premortemLists(t, offset)
	if c := chains["endpointslices.discovery.k8s.io"]; len(chains) != 1 || c == nil || c.Pages != 1 {
		t.Errorf("LIST chains %v: want one page of EndpointSlices", chains)
	}
	// The table says it too.
	_, table, _ := premortemCLI(t, "refs", "--cert", "--kubeconfig", cluster.Kubeconfig, removedName)
	if !strings.Contains(table, removedName) || !strings.Contains(table, "NO") {
		t.Errorf("table:\n%s", table)
	}

	// An API server published in default/kubernetes that does not answer
	// (TEST-NET-1): asked within --dial-timeout, reported as not read, and
	// the answer is incomplete (exit 3) though the kubeconfig's covers it.
	ctx := context.Background()
	port, name, proto := int32(6443), "https", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes-e2e-unreachable", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	if _, err := cluster.Client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.DiscoveryV1().EndpointSlices("default").Delete(context.Background(), slice.Name, metav1.DeleteOptions{})
	})
	start := time.Now()
	code, out, stderr = premortemCLI(t, "refs", "--cert", "--kubeconfig", cluster.Kubeconfig, "--dial-timeout", "2s", "-o", "json", "localhost")
	if code != cli.ExitIncomplete {
		t.Fatalf("exit %d, want %d (a certificate not read)\nstdout:\n%s\nstderr:\n%s", code, cli.ExitIncomplete, out, stderr)
	}
	res = refs.CertResult{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Servers) != 2 || res.Servers[1].Address != "192.0.2.1:6443" || res.Servers[1].Via != "EndpointSlice default/kubernetes" ||
		res.Servers[1].Names[0].Covered != nil || res.Servers[1].Names[0].Error == "" || res.Servers[0].Names[0].Covered == nil || !*res.Servers[0].Names[0].Covered {
		t.Errorf("servers %+v", res.Servers)
	}
	t.Logf("unreachable server: %s, after %s", res.Servers[1].Names[0].Error, time.Since(start).Round(time.Millisecond))
}
