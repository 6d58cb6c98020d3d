package refs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

func selfSigned(t *testing.T, cn string, dns []string, ips []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS answers TLS handshakes on loopback: with internal for the SNI
// name internal.example.org (kube-apiserver's --tls-sni-cert-key), with
// def otherwise.
func serveTLS(t *testing.T, def, internal tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if h.ServerName == "internal.example.org" {
			return &internal, nil
		}
		return &def, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestCheckCertificates(t *testing.T) {
	addr := serveTLS(t,
		selfSigned(t, "kube-apiserver", []string{"*.tools.example.org", "kubernetes.default.svc"}, []string{"127.0.0.1", "10.0.0.1"}),
		selfSigned(t, "internal", []string{"internal.example.org"}, nil))
	// A port nothing listens on: the handshake fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	recorded := &snapshot.Certificate{Subject: "CN=recorded", DNSNames: []string{"k8s-master.tools.example.org"}}

	var names []address.Query
	for _, n := range []string{"k8s-master.tools.example.org", "a.b.tools.example.org", "tools.example.org", "KUBERNETES.default.svc.",
		"127.0.0.1", "10.0.0.2", "internal.example.org", "https://10.0.0.1:6443"} {
		q, err := address.ParseQuery(n)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, q)
	}
	fetch := func(ctx context.Context, addr, serverName string) (*snapshot.Certificate, error) {
		c, err := kube.PeerCertificate(ctx, nil, addr, serverName, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return kube.DescribeCertificate(c), nil
	}
	r := CheckCertificates(context.Background(), []Server{{Address: addr, Via: "kubeconfig"}, {Address: closed, Via: "EndpointSlice default/kubernetes"},
		{Address: "snapshot", Via: "recorded", Certificate: recorded}}, names, fetch, nil)

	want := map[string]bool{
		"k8s-master.tools.example.org": true,  // the wildcard's one label
		"a.b.tools.example.org":        false, // a wildcard covers one label only
		"tools.example.org":            false, // nor the bare domain
		"kubernetes.default.svc":       true,  // any case, trailing dot
		"127.0.0.1":                    true,
		"10.0.0.2":                     false,
		"internal.example.org":         true, // sent as SNI: the server's other certificate
		"10.0.0.1":                     true,
	}
	s := r.Servers[0]
	for _, nc := range s.Names {
		if nc.Covered == nil || *nc.Covered != want[nc.Name] {
			t.Errorf("%s at %s: covered %v, want %v (%s)", nc.Name, s.Address, nc.Covered, want[nc.Name], nc.Error)
		}
	}
	if got := s.Names[6].Certificate.Subject; got != "CN=internal" {
		t.Errorf("certificate for internal.example.org: %s, want the SNI one", got)
	}
	for _, nc := range r.Servers[1].Names {
		if nc.Covered != nil || !strings.Contains(nc.Error, "connect") {
			t.Errorf("closed port: %+v", nc)
		}
	}
	if got := r.Servers[2].Names[0]; got.Covered == nil || !*got.Covered {
		t.Errorf("recorded certificate: %+v", got)
	}
	if r.Uncovered() != 3+7 || r.Complete() {
		t.Errorf("uncovered %d, complete %v, not read %q", r.Uncovered(), r.Complete(), r.NotRead)
	}
}
