// Package kube is premortem's only door to a cluster: client configuration
// from kubectl-style flags, discovery, the cheap live read, and the offline
// snapshot files (load and save). Everything it produces is a
// *snapshot.Snapshot, so checks never see a client.
package kube

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// Flags are the kubectl connection flags (--kubeconfig, --context,
// -n/--namespace, --request-timeout, --server, --token, ...) and kubectl's
// --chunk-size, the page size of every LIST: one type for every verb that
// talks to a cluster.
type Flags struct {
	config    *genericclioptions.ConfigFlags
	chunkSize int64
}

// DefaultRequestTimeout bounds every request (--request-timeout overrides
// it; 0 turns it off, as in kubectl). A 500-object page of large pods is a
// few MB, seconds even from a slow server; a server that accepts the
// connection and never answers ends the command in about this long,
// instead of hanging it, in the middle of an incident, for as long as
// the server does.
const DefaultRequestTimeout = "30s"

// NewFlags returns kubectl-compatible connection flags.
func NewFlags() *Flags {
	// usePersistentConfig=false: no discovery cache on disk, nothing written
	// under ~/.kube by a read-only tool.
	c := genericclioptions.NewConfigFlags(false)
	timeout := DefaultRequestTimeout
	c.Timeout = &timeout
	return &Flags{config: c, chunkSize: DefaultPageSize}
}

// AddFlags registers the flags on fs.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	f.config.AddFlags(fs)
	fs.Int64Var(&f.chunkSize, "chunk-size", DefaultPageSize, "objects per LIST page (`N`); every kind is listed once, in pages of this size, except that a long chain of Pods or of a metadata-only kind grows its later pages to at most 10 times this (about 16MiB each)")
}

// Namespace is the -n value, or "" for all namespaces: a scan is about the
// whole cluster unless -n narrows it, whatever the context's namespace.
func (f *Flags) Namespace() string {
	if f.config.Namespace == nil {
		return ""
	}
	return *f.config.Namespace
}

// ContextNamespace is -n, else the kubeconfig context's namespace, else
// "default", as kubectl and helm resolve it; explicit says -n was given.
func (f *Flags) ContextNamespace() (ns string, explicit bool, err error) {
	ns, explicit, err = f.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, fmt.Errorf("namespace: %w", err)
	}
	return ns, explicit, nil
}

// ChunkSize is the LIST page size (--chunk-size).
func (f *Flags) ChunkSize() int64 { return f.chunkSize }

// ClientOptions tune the REST configuration premortem uses.
type ClientOptions struct {
	// UserAgent identifies premortem in audit logs ("premortem/<version>").
	UserAgent string
	// QPS and Burst bound client-side request rate. client-go's defaults
	// (5/10) would throttle a paginated read of a large cluster to minutes;
	// a scan sends one request per page and never more than a few at once.
	QPS   float32
	Burst int
	// Counter, when set, counts requests and bytes received.
	Counter *Counter
}

// RESTConfig builds the client configuration from the flags.
func (f *Flags) RESTConfig(opts ClientOptions) (*rest.Config, error) {
	cfg, err := f.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return Configure(cfg, opts), nil
}

// Configure returns a copy of cfg set up for premortem's reads: user agent,
// rate limits, protobuf for built-in kinds, and optional byte counting.
func Configure(cfg *rest.Config, opts ClientOptions) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if opts.UserAgent != "" {
		cfg.UserAgent = opts.UserAgent
	}
	cfg.QPS, cfg.Burst = 50, 100
	if opts.QPS > 0 {
		cfg.QPS = opts.QPS
	}
	if opts.Burst > 0 {
		cfg.Burst = opts.Burst
	}
	// Built-in kinds in protobuf: about a third of JSON's bytes and much
	// cheaper to encode for the API server. Custom kinds fall back to JSON.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if !cfg.DisableCompression {
		cfg.Wrap(inflate) // inside the Counter's wrap, which counts inflated bytes
	}
	cfg.Wrap(capAnswers(int64(maxPageBytes)))
	if c := opts.Counter; c != nil {
		cfg.Wrap(c.wrap)
		dial := cfg.Dial
		if dial == nil {
			d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
			dial = d.DialContext
		}
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, n: &c.wire}, nil
		}
	}
	return cfg
}

// Counter counts what a client sent and received. Safe for concurrent use.
type Counter struct {
	requests atomic.Int64
	body     atomic.Int64
	wire     atomic.Int64
}

// Requests is the number of HTTP requests sent (retries included).
func (c *Counter) Requests() int64 { return c.requests.Load() }

// BodyBytes is the number of response body bytes received, after any
// transparent gzip decompression.
func (c *Counter) BodyBytes() int64 { return c.body.Load() }

// WireBytes is the number of bytes read from the network (TLS included,
// compressed as sent).
func (c *Counter) WireBytes() int64 { return c.wire.Load() }

func (c *Counter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		c.requests.Add(1)
		resp, err := rt.RoundTrip(req)
		if resp != nil && resp.Body != nil {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.body}
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}
