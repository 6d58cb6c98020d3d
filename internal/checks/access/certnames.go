package access

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// APIServerCertNames is the apiserver-cert-names check.
var APIServerCertNames = &check.Check{
	ID:         "apiserver-cert-names",
	Title:      "API server certificate does not cover a name clients use, or expires soon",
	Category:   category,
	Severity:   check.High,
	Escalation: &check.Escalation{To: check.Critical, When: "the serving certificate has expired"},
	Incidents:  []string{"002"},
	Reads:      []snapshot.Resource{snapshot.ConfigMaps, snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs},
	Optional:   []snapshot.Resource{snapshot.Services},
	Doc: `Compares the API server's serving certificate (read by the live read with
one TLS handshake to the server in the kubeconfig, and recorded in the
snapshot) with every name clients are configured to reach it by: the
kubernetes Service's names (kubernetes.default.svc.<cluster-domain> and
shorter forms) and cluster IP, the server of the kubeconfig in use, the
servers of kubeconfigs stored in ConfigMaps, and the values of API server
environment variables in workloads (KUBE_MASTER, ...). A live read reads the
data of the ConfigMaps workloads mount or take env from (and Helm release
records), not of every ConfigMap: a kubeconfig in a ConfigMap no workload
uses is not seen live (a snapshot file is read whole). Kubeconfigs stored in
Secrets, or in ConfigMaps no workload uses, are not read by a scan;
"premortem refs NAME" finds those.

In incident 002, moving a checker from a removed public name to the
internal one failed with "hostname doesn't match": the internal name was
not in the certificate. A name clients use that the certificate does not
cover is one TLS error away from an outage.

Severity: high for a missing kubernetes Service name or cluster IP (every
in-cluster client verifies it), medium for a name from a kubeconfig or
variable (it may name another cluster's API server: check it). Expiry:
critical when expired, high within 7 days, medium within expiry-warning.
When the certificate covers none of the kubernetes Service's names, the
kubeconfig's server is a proxy or load balancer terminating TLS: that is
reported (low) and in-cluster names are not compared with it. Not run when
the snapshot holds no certificate (kubectl output, or the server is not
HTTPS).`,
	Remediation: `Reissue the serving certificate with every name and address clients use
(kubeadm: apiServer.certSANs in the ClusterConfiguration, then
"kubeadm init phase certs apiserver"), or point those clients at a name the
certificate covers. Renew before expiry (kubeadm certs renew apiserver) and
restart kube-apiserver.`,
	Params: []check.Param{
		{Name: "expiry-warning", Type: check.Duration, Default: "720h", Doc: "Report a certificate that expires within this time."},
		{Name: "cluster-domain", Type: check.Text, Default: "cluster.local", Doc: "The cluster DNS domain."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "server", Doc: "The server of the kubeconfig premortem used."},
		{Name: "certificate", Doc: "The serving certificate: subject, dnsNames, ipAddresses, notAfter."},
		{Name: "name", Doc: "A name clients use that the certificate does not cover."},
		{Name: "usedBy", Doc: "Where that name is configured."},
	},
	Run: runCertNames,
}

// clientName is a name or address clients use to reach the API server.
type clientName struct {
	Name    string   `json:"name"`
	Sources []string `json:"usedBy"`
	// InCluster marks the kubernetes Service's names.
	InCluster bool           `json:"inCluster,omitempty"`
	objects   []check.Object // the objects that configure it
}

func runCertNames(p *check.Pass) error {
	snap := p.Snapshot
	api := snap.Info.APIServer
	switch {
	case api == nil:
		return p.NotRun("no serving certificate in the snapshot (taken from kubectl output, or by an older premortem)")
	case api.Certificate == nil:
		return p.NotRun("the serving certificate was not read: " + api.CertificateError)
	}
	cert := api.Certificate
	xc := &x509.Certificate{DNSNames: cert.DNSNames}
	for _, ip := range cert.IPAddresses {
		if parsed := net.ParseIP(ip); parsed != nil {
			xc.IPAddresses = append(xc.IPAddresses, parsed)
		}
	}
	certEv := map[string]any{"subject": cert.Subject, "dnsNames": cert.DNSNames, "ipAddresses": cert.IPAddresses,
		"notAfter": cert.NotAfter.UTC().Format(time.RFC3339)}

	// Expiry.
	left := cert.NotAfter.Sub(p.Now)
	if left <= p.Duration("expiry-warning") {
		sev, state := check.Medium, "expires in "+check.FormatAge(left)
		switch {
		case left <= 0:
			sev, state = check.Critical, "expired "+check.FormatAge(-left)+" ago"
		case left <= 7*24*time.Hour:
			sev = check.High
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    "The cluster's API server serving certificate " + state,
			Message: fmt.Sprintf("The serving certificate of %s (%s) %s (notAfter %s). When it expires every client that verifies it, "+
				"in-cluster and outside, fails to connect.", api.Server, cert.Subject, state, cert.NotAfter.UTC().Format(time.RFC3339)),
			Objects:  []check.Object{},
			Evidence: map[string]any{"server": api.Server, "certificate": certEv},
		})
	}

	names := clientNames(p, api.Server)
	// A certificate that covers none of the kubernetes Service's names is
	// not kube-apiserver's own: the kubeconfig's server is a proxy or a
	// load balancer that terminates TLS. In-cluster clients never see it.
	ownCert := false
	for _, n := range names {
		ownCert = ownCert || n.InCluster && !isIP(n.Name) && xc.VerifyHostname(n.Name) == nil
	}
	if !ownCert {
		p.Report(check.Finding{
			Severity: check.Low,
			Title:    "The cluster's API server certificate was not seen: " + api.Server + " presents another certificate",
			Message: fmt.Sprintf("The certificate presented by %s (%s) covers none of the kubernetes Service's names, so it is not kube-apiserver's own: "+
				"the kubeconfig's server is a proxy or a load balancer that terminates TLS. The names in-cluster clients use are not checked; "+
				"names from kubeconfigs and variables are compared with this certificate, as clients that use the same address see it.", api.Server, cert.Subject),
			Objects:  []check.Object{},
			Evidence: map[string]any{"server": api.Server, "certificate": certEv},
		})
	}
	for _, n := range names {
		if xc.VerifyHostname(n.Name) == nil || n.InCluster && !ownCert {
			continue
		}
		sev := check.Medium
		if n.InCluster {
			sev = check.High
		}
		objects := n.objects
		if objects == nil {
			objects = []check.Object{}
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("API server certificate does not cover %s, used by %s", n.Name, strings.Join(n.Sources, ", ")),
			Message: fmt.Sprintf("Clients reach the API server as %s (%s), but the serving certificate of %s covers only %s. "+
				"A client that verifies the certificate fails with \"certificate is valid for ..., not %s\" as soon as it uses this name; "+
				"in incident 002 the internal name of the master was missing from its certificate and the fix could not be applied during the outage.",
				n.Name, strings.Join(n.Sources, "; "), api.Server, strings.Join(append(slices.Clone(cert.DNSNames), cert.IPAddresses...), ", "), n.Name),
			Objects:  objects,
			Evidence: map[string]any{"name": n.Name, "usedBy": n.Sources, "certificate": certEv},
		})
	}
	return nil
}

// clientNames collects the names clients use for the API server.
func clientNames(p *check.Pass, server string) []*clientName {
	snap := p.Snapshot
	var out []*clientName
	add := func(name, source string, inCluster bool, o *check.Object) {
		name = address.HostOf(name)
		if name == "" {
			return
		}
		var n *clientName
		for _, e := range out {
			if e.Name == name {
				n = e
			}
		}
		if n == nil {
			n = &clientName{Name: name}
			out = append(out, n)
		}
		n.InCluster = n.InCluster || inCluster
		if !slices.Contains(n.Sources, source) {
			n.Sources = append(n.Sources, source)
		}
		if o != nil && !slices.Contains(n.objects, *o) {
			n.objects = append(n.objects, *o)
		}
	}
	inCluster := inClusterNames(snap, p.Text("cluster-domain"))
	svc := obj("", "Service", "default", "kubernetes")
	for _, n := range inCluster {
		add(n, "in-cluster clients (Service default/kubernetes)", true, &svc)
	}
	if server != "" {
		add(server, "the kubeconfig premortem used", false, nil)
	}
	for i := range snap.ConfigMaps {
		cm := &snap.ConfigMaps[i]
		o := obj("", "ConfigMap", cm.Namespace, cm.Name)
		for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
			for _, c := range address.Kubeconfig(cm.Data[k]) {
				if !isInCluster(address.HostOf(c.Server), inCluster) {
					add(c.Server, fmt.Sprintf("kubeconfig in ConfigMap %s/%s key %s (cluster %q)", cm.Namespace, cm.Name, k, c.Name), false, &o)
				}
			}
		}
	}
	for _, w := range workloads(snap) {
		for _, f := range address.PodSpecFields(w.Spec) {
			if f.Kind != "env" || !isAPIServerEnv(f.EnvName) || !looksLikeAddress(f.Value) || isInCluster(address.HostOf(f.Value), inCluster) {
				continue
			}
			o := w.Object
			add(f.Value, fmt.Sprintf("env %s of %s", f.EnvName, w.Object), false, &o)
		}
	}
	return out
}

func isIP(s string) bool { return net.ParseIP(s) != nil }
