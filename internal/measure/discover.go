package measure

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
)

// Server is one API server measure reads directly.
type Server struct {
	// URL is what is dialed: https://ADDRESS:PORT.
	URL string
	// Via says where it was found: "kubeconfig", "EndpointSlice
	// default/kubernetes" or "--apiserver".
	Via string
	// Config is the kubeconfig's configuration (same credentials and CA)
	// with Host set to URL. Its TLS server name stays the kubeconfig's host
	// name, so the certificate is checked against the name the user trusts.
	Config *rest.Config
}

// Where measure finds API servers.
const (
	ViaKubeconfig    = "kubeconfig"
	ViaEndpointSlice = "EndpointSlice default/kubernetes"
	ViaFlag          = "--apiserver"
)

// maxServers bounds the addresses read from the EndpointSlice.
const maxServers = 64

// Discovery is what Discover found, and what it could not read.
type Discovery struct {
	Servers []Server
	// NotRead names what could not be read and makes the measurement
	// incomplete (other API servers may exist).
	NotRead []string
	// Notes say how the list was made.
	Notes []string
}

// Discover lists the API servers to read: each address the API servers
// publish for Service default/kubernetes (kube.APIServerAddresses: its
// EndpointSlices, one paginated LIST through the kubeconfig server), the
// kubeconfig server when it is one of them or when they name none, and
// every extra URL. The kubeconfig server is left out when the slices list
// others: it is then a name or load balancer in front of them, and
// sampling it would mix servers.
func Discover(ctx context.Context, cfg *rest.Config, pageSize int64, extra []string, log *slog.Logger) (*Discovery, error) {
	d := &Discovery{}
	base, err := url.Parse(cfg.Host)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("kubeconfig server %q: not a URL", cfg.Host)
	}
	// Bad input fails before any request.
	var extras []*url.URL
	for _, e := range extra {
		u, err := parseServerURL(e)
		if err != nil {
			return nil, err
		}
		extras = append(extras, u)
	}
	seen := map[string]bool{}
	add := func(u *url.URL, via string) {
		key := strings.ToLower(hostPort(u))
		if seen[key] {
			return
		}
		seen[key] = true
		d.Servers = append(d.Servers, Server{URL: u.Scheme + "://" + hostPort(u), Via: via, Config: serverConfig(cfg, u)})
	}

	found, err := kube.APIServerAddresses(ctx, cfg, pageSize)
	switch {
	case err == nil:
	case apierrors.IsForbidden(err):
		d.NotRead = append(d.NotRead, fmt.Sprintf("%s: other API servers may exist", firstLine(err)))
	default:
		return nil, err
	}
	var addrs []*url.URL
	for _, a := range found {
		if a.Via != ViaKubeconfig && len(addrs) < maxServers {
			addrs = append(addrs, &url.URL{Scheme: base.Scheme, Host: a.Address})
		}
	}
	inSlice := false
	for _, a := range addrs {
		if strings.EqualFold(hostPort(a), hostPort(base)) {
			inSlice = true
		}
	}
	switch {
	case err != nil:
	case len(addrs) == 0:
		d.Notes = append(d.Notes, "Service default/kubernetes has no endpoint address: only the kubeconfig server is read")
	case !inSlice:
		d.Notes = append(d.Notes, fmt.Sprintf("the kubeconfig server %s is not among the EndpointSlice's addresses: read as a name in front of them, not sampled itself", hostPort(base)))
	}
	if len(addrs) == 0 || inSlice {
		add(base, ViaKubeconfig)
	}
	for _, a := range addrs {
		add(a, ViaEndpointSlice)
	}
	for _, u := range extras {
		add(u, ViaFlag)
	}
	if log != nil {
		log.Info("API servers", "count", len(d.Servers), "notes", d.Notes)
	}
	return d, nil
}

// parseServerURL reads an --apiserver value: https://HOST[:PORT] or
// HOST[:PORT].
func parseServerURL(u0 string) (*url.URL, error) {
	s := u0
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--apiserver %q: want https://HOST[:PORT]", u0)
	}
	return u, nil
}

// hostPort is u's host and port, the scheme's default port when none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// serverConfig is cfg pointed at u. The TLS server name stays the
// kubeconfig's host when that is a name: every server of a cluster holds
// it in its certificate, while an address from the EndpointSlice may not
// be. When the kubeconfig names an address, each server is checked
// against its own address, which its certificate holds.
func serverConfig(cfg *rest.Config, u *url.URL) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Host = u.Scheme + "://" + hostPort(u)
	if c.TLSClientConfig.ServerName == "" {
		if base, err := url.Parse(cfg.Host); err == nil && net.ParseIP(base.Hostname()) == nil {
			c.TLSClientConfig.ServerName = base.Hostname()
		}
	}
	return c
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return output.Truncate(s, 401)
}
