package snapshot

import (
	"crypto/x509"
	"net"
)

// Covers reports whether a client that verifies the certificate accepts it
// for host (a DNS name or an IP address): the rules of crypto/x509, which
// are those of RFC 6125 that clients apply (DNS names case-insensitively, a
// wildcard for exactly the leftmost label, IP addresses against IP SANs
// only, the subject's common name never).
func (c *Certificate) Covers(host string) bool {
	xc := &x509.Certificate{DNSNames: c.DNSNames}
	for _, ip := range c.IPAddresses {
		if parsed := net.ParseIP(ip); parsed != nil {
			xc.IPAddresses = append(xc.IPAddresses, parsed)
		}
	}
	return xc.VerifyHostname(host) == nil
}
