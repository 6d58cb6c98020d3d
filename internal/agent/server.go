package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/premortem/premortem/internal/output"
)

// Timeouts of the HTTP server: every request has one.
const (
	readHeaderTimeout = 5 * time.Second
	requestTimeout    = 30 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// Handler serves /metrics, /healthz, /readyz and /findings.
func (a *Agent) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	// The Go runtime's and the process's own metrics (go_*, process_*):
	// the agent's memory is watched like any other component's.
	reg.MustRegister(newCollector(a), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m := a.opts.APIServerSample; m != nil {
		reg.MustRegister(newSampleCollector(m))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil, Timeout: requestTimeout}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		missing, ready := a.notReady()
		if ready {
			fmt.Fprintln(w, "ok")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		// Reasons quote server errors: escaped, like every text output.
		fmt.Fprintf(w, "not ready; not synced or not readable:\n%s\n", output.Text(strings.Join(missing, "\n")))
	})
	mux.HandleFunc("GET /findings", func(w http.ResponseWriter, _ *http.Request) {
		e := a.latest()
		if e == nil {
			http.Error(w, "no evaluation yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(e.json)
	})
	return http.TimeoutHandler(mux, requestTimeout, "request timed out\n")
}

// Serve runs the agent and its HTTP server on listen until ctx ends, then
// shuts the server down gracefully. ready, when set, is called with the
// address once the server listens.
func (a *Agent) Serve(ctx context.Context, listen string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: requestTimeout,
		WriteTimeout: requestTimeout + 5*time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	a.log.Info("agent listening", "address", ln.Addr().String())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	var runErr error
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case runErr = <-ran:
	case <-ctx.Done():
		// An evaluation that does not end (a check's bug) must not keep a
		// stopped agent alive.
		select {
		case runErr = <-ran:
		case <-time.After(shutdownTimeout):
			runErr = fmt.Errorf("the evaluation did not stop within %s of the stop", shutdownTimeout)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return runErr
}
