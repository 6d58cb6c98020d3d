package kube

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// TestInflate: through Configure's client, a gzip answer arrives inflated,
// a cut one fails on read, and --disable-compression asks for no gzip.
func TestInflate(t *testing.T) {
	body := strings.Repeat("pod page ", 100_000)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(body))
	zw.Close()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		switch {
		case r.URL.Path == "/plain" || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip"):
			io.WriteString(w, body)
		case r.URL.Path == "/cut":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped.Bytes()[:zipped.Len()/2])
		case r.URL.Path == "/empty":
			w.Header().Set("Content-Encoding", "gzip")
		default:
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped.Bytes())
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path string
		disable    bool
		wantAsked  string
		wantErr    bool
	}{
		{name: "gzip", path: "/", wantAsked: "gzip"},
		{name: "not gzip", path: "/plain", wantAsked: "gzip"},
		{name: "cut", path: "/cut", wantAsked: "gzip", wantErr: true},
		{name: "empty", path: "/empty", wantAsked: "gzip", wantErr: true},
		{name: "--disable-compression", path: "/", disable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			var counted Counter
			hc := configuredClient(t, srv.URL, tc.disable, &counted)
			resp, err := hc.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(asked) != 1 || asked[0] != tc.wantAsked {
				t.Errorf("Accept-Encoding sent %q, want %q", asked, tc.wantAsked)
			}
			if tc.wantErr {
				if err == nil {
					t.Errorf("a cut gzip answer read without error (%d bytes)", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != body {
				t.Errorf("read %d bytes, not the %d sent", len(got), len(body))
			}
			if resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding %q left on an inflated answer", resp.Header.Get("Content-Encoding"))
			}
			if n := counted.body.Load(); n != int64(len(body)) {
				t.Errorf("counted %d body bytes, want the %d inflated", n, len(body))
			}
		})
	}
}

// configuredClient is an HTTP client configured as Configure configures
// premortem's, counting into counted. A Counter's dialer makes client-go
// build its own transport: for a plain http host it would share net/http's
// default one, which ignores DisableCompression.
func configuredClient(t *testing.T, host string, disable bool, counted *Counter) *http.Client {
	t.Helper()
	hc, err := rest.HTTPClientFor(Configure(&rest.Config{Host: host, DisableCompression: disable}, ClientOptions{Counter: counted}))
	if err != nil {
		t.Fatal(err)
	}
	return hc
}
