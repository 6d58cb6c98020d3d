// Package gzipfile reads inputs that may be gzip-compressed (snapshot files,
// rotated audit logs) through one opener.
package gzipfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
)

// Reader is an input with its gzip compression, if any, undone.
type Reader struct {
	io.Reader
	// Gzip says the input was gzip-compressed.
	Gzip    bool
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

// NewReader reads in with gzip undone when its content starts with gzip's
// magic number (rotated logs are often compressed whatever their name), or
// always when gz is set (a .gz name: content that is not gzip is then an
// error). A truncated gzip stream reads as far as it goes, then fails with
// io.ErrUnexpectedEOF. On error, in is closed.
func NewReader(in io.ReadCloser, gz bool) (*Reader, error) {
	br := bufio.NewReaderSize(in, 1<<16)
	r := &Reader{Reader: br, closers: []io.Closer{in}}
	if magic, _ := br.Peek(2); !gz && !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return r, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		in.Close()
		return nil, err
	}
	r.Reader, r.Gzip = zr, true
	r.closers = append(r.closers, zr)
	return r, nil
}
