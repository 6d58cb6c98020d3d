package refs

import (
	"context"
	"slices"
	"sync"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/snapshot"
)

// CertResult says, for each API server address, whether the certificate it
// presents covers each name (premortem refs --cert). Ask it before
// repointing a client: in incident 002 the internal name the checker was
// moved to was not in the certificate ("hostname doesn't match").
type CertResult struct {
	Names   []string     `json:"names"`
	Servers []ServerCert `json:"servers"`
	// NotRead says what could not be read (the EndpointSlices of
	// default/kubernetes, a certificate): the answer is then incomplete.
	NotRead []string `json:"notRead,omitempty"`
}

// ServerCert is one API server address and its answers.
type ServerCert struct {
	Address string      `json:"address"`
	Via     string      `json:"via"`
	Names   []NameCover `json:"names"`
}

// NameCover is one name at one server.
type NameCover struct {
	Name string `json:"name"`
	// Covered is set when the certificate was read.
	Covered *bool `json:"covered,omitempty"`
	// Certificate is what the server presented for the name (sent as SNI
	// when it is a DNS name, as a client would).
	Certificate *snapshot.Certificate `json:"certificate,omitempty"`
	Error       string                `json:"error,omitempty"`
}

// Fetch reads the certificate a server address presents for a server name
// (kube.PeerCertificate).
type Fetch func(ctx context.Context, addr, serverName string) (*snapshot.Certificate, error)

// certConcurrency bounds the handshakes in flight.
const certConcurrency = 8

// CheckCertificates asks every server for its certificate, once per server
// name sent (each DNS name as SNI; none for IP addresses), and says which
// names each covers. notRead are gaps already known (the EndpointSlices
// could not be listed).
func CheckCertificates(ctx context.Context, servers []Server, names []address.Query, fetch Fetch, notRead []string) *CertResult {
	r := &CertResult{Names: []string{}, Servers: make([]ServerCert, len(servers)), NotRead: notRead}
	for _, q := range names {
		r.Names = append(r.Names, q.Host)
	}
	type got struct {
		cert *snapshot.Certificate
		err  string
	}
	sni := func(q address.Query) string {
		if q.IP.IsValid() {
			return ""
		}
		return q.Host
	}
	results := make([]map[string]got, len(servers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, certConcurrency)
	for i, s := range servers {
		results[i] = map[string]got{}
		var snis []string
		for _, q := range names {
			if n := sni(q); !slices.Contains(snis, n) {
				snis = append(snis, n)
			}
		}
		for _, n := range snis {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				var g got
				if s.Certificate != nil {
					g.cert = s.Certificate // recorded in a snapshot
				} else if fetch == nil {
					g.err = "no certificate recorded, and no connection to make"
				} else if c, err := fetch(ctx, s.Address, n); err != nil {
					g.err = err.Error()
				} else {
					g.cert = c
				}
				mu.Lock()
				results[i][n] = g
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for i, s := range servers {
		sc := ServerCert{Address: s.Address, Via: s.Via, Names: []NameCover{}}
		failed := false
		for _, q := range names {
			g := results[i][sni(q)]
			nc := NameCover{Name: q.Host, Certificate: g.cert, Error: g.err}
			if g.cert != nil {
				covered := g.cert.Covers(q.Host)
				nc.Covered = &covered
			} else {
				failed = true
			}
			sc.Names = append(sc.Names, nc)
		}
		if failed {
			r.NotRead = append(r.NotRead, "the certificate of "+s.Address)
		}
		r.Servers[i] = sc
	}
	return r
}

// Server is an API server address to ask; Certificate is set when it was
// recorded already (a snapshot) and is then not fetched.
type Server struct {
	Address     string
	Via         string
	Certificate *snapshot.Certificate
}

// Uncovered counts the names a server's certificate does not cover.
func (r *CertResult) Uncovered() int {
	n := 0
	for _, s := range r.Servers {
		for _, nc := range s.Names {
			if nc.Covered != nil && !*nc.Covered {
				n++
			}
		}
	}
	return n
}

// Complete reports whether every certificate was read.
func (r *CertResult) Complete() bool { return len(r.NotRead) == 0 }
