package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	"k8s.io/client-go/rest"
)

// ServingCertificate reads the serving certificate of the API server cfg
// points at, with one TLS handshake to that address and no other: premortem
// never dials addresses it finds in a cluster. No request is sent and no
// client certificate is offered; the certificate is recorded, not trusted,
// so verification is not needed to read it. A failure is recorded in the
// result, not returned: the read goes on without it.
func ServingCertificate(ctx context.Context, cfg *rest.Config) *snapshot.APIServer {
	out := &snapshot.APIServer{Server: cfg.Host}
	cert, err := servingCertificate(ctx, cfg)
	if err != nil {
		out.CertificateError = err.Error()
		return out
	}
	out.Certificate = DescribeCertificate(cert)
	return out
}

func servingCertificate(ctx context.Context, cfg *rest.Config) (*x509.Certificate, error) {
	addr, err := hostPort(cfg.Host)
	if err != nil {
		return nil, err
	}
	if cfg.Proxy != nil {
		return nil, errors.New("server reached through a proxy: certificate not read")
	}
	serverName := cfg.TLSClientConfig.ServerName
	if serverName == "" {
		serverName, _, _ = net.SplitHostPort(addr)
	}
	return PeerCertificate(ctx, cfg.Dial, addr, serverName, 10*time.Second)
}

// hostPort is a server URL's host:port (port 443 when absent).
func hostPort(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		// rest.Config accepts a bare host:port.
		if u, err = url.Parse("https://" + server); err != nil {
			return "", fmt.Errorf("server %q: %w", server, err)
		}
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server %s is not HTTPS: no certificate", server)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return u.Host, nil
}

// DialFunc opens a connection (rest.Config.Dial); nil is a plain dialer.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// PeerCertificate reads the certificate the server at addr (host:port)
// presents for serverName (sent as SNI unless it is an IP address), with
// one TLS handshake within timeout. No request is sent and no client
// certificate is offered; the certificate is compared with names, not
// trusted, so it is not verified.
func PeerCertificate(ctx context.Context, dial DialFunc, addr, serverName string, timeout time.Duration) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	defer raw.Close()
	//nolint:gosec // the certificate is only recorded and compared with names; nothing is sent over this connection.
	conn := tls.Client(raw, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s presented no certificate", addr)
	}
	return certs[0], nil
}

// DescribeCertificate is what premortem records of a certificate.
func DescribeCertificate(c *x509.Certificate) *snapshot.Certificate {
	out := &snapshot.Certificate{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		DNSNames:  c.DNSNames,
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
	}
	for _, ip := range c.IPAddresses {
		out.IPAddresses = append(out.IPAddresses, ip.String())
	}
	return out
}
