// Package gzipfile reads inputs that may be gzip-compressed (snapshot files,
// rotated audit logs) through one opener.
package gzipfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	// The standard library's API, inflating about twice as fast
	// (docs/benchmarks.md, "gzip input").
	"github.com/klauspost/compress/gzip"

	"github.com/premortem/premortem/internal/sizelimit"
)

// Reader is an input with its gzip compression, if any, undone.
type Reader struct {
	r io.Reader
	// Gzip says the input was gzip-compressed.
	Gzip bool
	// Max, when set, bounds the bytes read (decompressed): past it, Read
	// fails with a *sizelimit.Error, so a gzip bomb ends instead of
	// running for hours.
	Max     sizelimit.Size
	read    int64
	closers []io.Closer
}

// Close closes the decompressor, then the input.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i].Close())
	}
	return errors.Join(errs...)
}

// Read reads decompressed bytes. On gzip input it fills p as a file read
// does: the decompressor hands out at most its 32 KiB window per call, and
// a reader that sizes its refills by what it got (encoding/json rescans its
// whole buffer after each) then takes quadratic time on a long run of
// whitespace.
func (r *Reader) Read(p []byte) (int, error) {
	if r.Max > 0 {
		room := int64(r.Max) - r.read
		if room <= 0 {
			// Exactly Max bytes is allowed: fail only if more follow.
			var b [1]byte
			if n, err := r.r.Read(b[:]); n == 0 {
				return 0, err
			}
			return 0, &sizelimit.Error{Limit: "input", Max: r.Max}
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := r.r.Read(p)
	for r.Gzip && err == nil && n < len(p) {
		var m int
		m, err = r.r.Read(p[n:])
		n += m
	}
	r.read += int64(n)
	return n, err
}

// NewReader reads in with gzip undone when its content starts with gzip's
// magic number (rotated logs are often compressed whatever their name), or
// always when gz is set (a .gz name: content that is not gzip is then an
// error). A truncated gzip stream reads as far as it goes, then fails with
// io.ErrUnexpectedEOF. On error, in is closed.
func NewReader(in io.ReadCloser, gz bool) (*Reader, error) {
	br := bufio.NewReaderSize(in, 1<<16)
	r := &Reader{r: br, closers: []io.Closer{in}}
	if magic, _ := br.Peek(2); !gz && !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return r, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		in.Close()
		return nil, err
	}
	r.r, r.Gzip = zr, true
	r.closers = append(r.closers, zr)
	return r, nil
}
