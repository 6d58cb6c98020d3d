package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
)

// reader sends measure's two kinds of request to one API server, with the
// kubeconfig's credentials and the server's own address.
type reader struct {
	server Server
	client *http.Client
	// timeout bounds one request (--request-timeout; 30s when unset).
	timeout time.Duration
}

func newReader(s Server) (*reader, error) {
	c := rest.CopyConfig(s.Config)
	timeout := c.Timeout
	// Each request has a deadline of its own (a context); the client's
	// would cut a large /metrics answer regardless of it.
	c.Timeout = 0
	client, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("%s: client: %w", s.URL, err)
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &reader{server: s, client: client, timeout: timeout}, nil
}

// maxErrorBody bounds the part of an error answer read for its message.
const maxErrorBody = 64 << 10

// get GETs path within timeout and hands a 200 answer's body to read. Any
// other answer, or no answer, is a *kube.ServerError naming the server and
// the path; a 403 stays recognisable with apierrors.IsForbidden.
func (r *reader) get(ctx context.Context, path, accept string, timeout time.Duration, read func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(err error) error {
		return &kube.ServerError{Host: r.server.URL, Stage: "GET " + path, Limit: timeout, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(r.server.URL, "/")+path, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := r.client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return fail(statusError(resp.StatusCode, body))
	}
	if err := read(resp.Body); err != nil {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fmt.Errorf("%s: GET %s: %w", r.server.URL, path, err)
	}
	return nil
}

// statusError is the API error an answer carries: its Status when the body
// is one, else one made from the code.
func statusError(code int, body []byte) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Code != 0 {
		return &apierrors.StatusError{ErrStatus: st}
	}
	return apierrors.NewGenericServerResponse(code, "get", schema.GroupResource{}, "", output.Truncate(strings.TrimSpace(string(body)), 201), 0, false)
}

// scrapeMetrics reads /metrics once, in the text format.
func (r *reader) scrapeMetrics(ctx context.Context, maxBytes int64) (*scrape, error) {
	var s *scrape
	at := time.Now()
	err := r.get(ctx, "/metrics", "text/plain;version=0.0.4", r.timeout, func(body io.Reader) error {
		var err error
		s, err = readScrape(body, maxBytes, at)
		return err
	})
	return s, err
}

// dump reads the priority levels once.
func (r *reader) dump(ctx context.Context, timeout time.Duration) ([]LevelSample, error) {
	var levels []LevelSample
	err := r.get(ctx, DumpPath, "text/plain", timeout, func(body io.Reader) error {
		var err error
		levels, err = parseDump(body)
		return err
	})
	return levels, err
}
