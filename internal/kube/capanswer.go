package kube

import (
	"io"
	"net/http"
	"strings"

	"github.com/premortem/premortem/internal/sizelimit"
)

// capAnswers bounds the body of every answer but a watch's at max bytes,
// inflated: client-go reads an answer whole before decoding it, so a broken
// or hostile server (or a small gzip answer inflating to gigabytes) would
// otherwise take all the memory there is. Past max, reading fails with a
// *sizelimit.Error, which fails that request only. A watch is a stream
// read an event at a time; its events are bounded by the watch decoder.
func capAnswers(max int64) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if err != nil || resp.Body == nil || isWatch(req) {
				return resp, err
			}
			resp.Body = &cappedBody{ReadCloser: resp.Body, left: max, max: max}
			return resp, nil
		})
	}
}

func isWatch(req *http.Request) bool {
	q := req.URL.Query()
	return q.Get("watch") == "true" || q.Get("watch") == "1" || strings.Contains(req.URL.Path, "/watch/")
}

type cappedBody struct {
	io.ReadCloser
	left, max int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: one more byte tells a body of exactly max bytes from
		// a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &sizelimit.Error{Limit: "response", Max: sizelimit.Size(b.max)}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
