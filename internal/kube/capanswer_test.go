package kube

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/premortem/premortem/internal/sizelimit"
)

// TestCapAnswers: through Configure's client, an answer over the cap fails
// on read with a *sizelimit.Error, inflated or not, and a watch's does not.
func TestCapAnswers(t *testing.T) {
	const max = 1 << 20
	old := maxPageBytes
	maxPageBytes = max
	defer func() { maxPageBytes = old }()

	bomb := func(n int) []byte { // n zero bytes, gzipped to about a thousandth
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(make([]byte, n))
		zw.Close()
		return b.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			w.Write(make([]byte, max))
		case "/over":
			w.Write(make([]byte, max+1))
		default:
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb(64 * max))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path string
		disable    bool
		wantLen    int
		wantCap    bool
	}{
		{name: "exactly the cap", path: "/exact", wantLen: max},
		{name: "a byte over", path: "/over", wantCap: true},
		{name: "a gzip bomb", path: "/api/v1/pods", wantCap: true},
		{name: "a gzip bomb to a client not asking gzip", path: "/api/v1/pods", disable: true, wantLen: len(bomb(64 * max))},
		{name: "a watch", path: "/api/v1/pods?watch=true", wantLen: 64 * max},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := configuredClient(t, srv.URL, tc.disable, &Counter{})
			resp, err := hc.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			var se *sizelimit.Error
			if isCap := errors.As(err, &se); isCap != tc.wantCap {
				t.Fatalf("read error %v, want a size limit error: %v", err, tc.wantCap)
			}
			if !tc.wantCap && len(got) != tc.wantLen {
				t.Errorf("read %d bytes, want %d", len(got), tc.wantLen)
			}
			if tc.wantCap && len(got) > max {
				t.Errorf("read %d bytes past the cap of %d", len(got), max)
			}
		})
	}
}
