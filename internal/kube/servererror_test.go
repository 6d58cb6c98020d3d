package kube

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/snapshot"
)

// fakeAPI answers discovery for v1 pods and hands LISTs of pods to list.
func fakeAPI(list http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"36","gitVersion":"v1.36.3"}`))
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
	})
	mux.HandleFunc("/apis", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`))
	})
	mux.HandleFunc("/api/v1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","namespaced":true,"kind":"Pod","verbs":["list","get"]}]}`))
	})
	mux.HandleFunc("/api/v1/pods", list)
	return mux
}

// A server that accepts connections and never answers, and servers that
// answer wrongly, end the read with one line naming the server and the
// stage; "cannot reach" is kept for a server that could not be reached.
func TestReadServerFailures(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never reads or answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name    string
		handler http.Handler
		host    string // instead of a test server
		want    []string
		timeout bool
	}{
		{name: "never answers", host: "http://" + silent.Addr().String(),
			want: []string{"did not answer discovery (server version) within 300ms"}, timeout: true},
		{name: "connection refused", host: "http://" + closedAddr,
			want: []string{"cannot reach http://" + closedAddr + ": connection refused"}},
		{name: "500", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "etcdserver: leader changed", http.StatusInternalServerError)
		}), want: []string{"answered discovery (server version) with HTTP 500", "etcdserver: leader changed"}},
		{name: "not the Kubernetes API", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>Welcome to nginx!</html>"))
		}), want: []string{"answered discovery (server version) with something that is not the Kubernetes API"}},
		{name: "LIST never answers", handler: fakeAPI(hang),
			want: []string{"did not answer LIST pods within 300ms"}, timeout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				host = srv.URL
			}
			r := &Reader{Config: &rest.Config{Host: host, Timeout: 300 * time.Millisecond}}
			start := time.Now()
			_, err := r.Read(context.Background(), []snapshot.Resource{snapshot.Pods, snapshot.Nodes})
			var se *ServerError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *ServerError", err, err)
			}
			msg := err.Error()
			for _, w := range append(tc.want, host) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "cannot reach") != se.Unreachable() || se.Timeout() != tc.timeout {
				t.Errorf("error %q: unreachable %v, timeout %v", msg, se.Unreachable(), se.Timeout())
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			// Not a timed assertion of speed: a read that waited for the
			// server instead of the timeout would hang the test.
			t.Logf("%s after %s", msg, time.Since(start).Round(time.Millisecond))
		})
	}
}
