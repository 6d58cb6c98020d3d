package kube

import (
	"io"
	"net/http"
	"strings"

	// The standard library's API, inflating about twice as fast
	// (docs/benchmarks.md, "gzip input").
	"github.com/klauspost/compress/gzip"
)

// inflate asks for gzip itself and inflates answers with klauspost/compress.
// Otherwise net/http asks and inflates with the standard library: at 60,000
// pods that was a quarter of a scan's CPU (docs/benchmarks.md, "Issue 12's
// 60,000-pod profile"). A request that names its own encoding, and an
// answer that is not gzip (watches, small answers), pass as they are.
func inflate(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("Accept-Encoding") != "" || req.Header.Get("Range") != "" {
			return rt.RoundTrip(req)
		}
		req = req.Clone(req.Context())
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.Body == nil || !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			return resp, err
		}
		resp.Body = &gunzipBody{body: resp.Body}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
		return resp, nil
	})
}

// gunzipBody inflates a body from its first Read, as net/http's does: the
// gzip header is read then, so its errors are the caller's read errors.
type gunzipBody struct {
	body io.ReadCloser
	zr   *gzip.Reader
	err  error
}

func (b *gunzipBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.zr == nil {
		if b.zr, b.err = gzip.NewReader(b.body); b.err != nil {
			if b.err == io.EOF {
				b.err = io.ErrUnexpectedEOF // an empty gzip answer is a cut one
			}
			return 0, b.err
		}
	}
	return b.zr.Read(p)
}

func (b *gunzipBody) Close() error {
	if b.zr != nil {
		b.zr.Close()
	}
	return b.body.Close()
}
