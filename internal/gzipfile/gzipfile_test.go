package gzipfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestNewReader(t *testing.T) {
	whole := gzipped("line 1\nline 2\n")
	tests := []struct {
		name     string
		in       []byte
		gz       bool
		want     string
		wantGzip bool
		openErr  bool
		readErr  error
	}{
		{name: "plain", in: []byte("plain\n"), want: "plain\n"},
		{name: "plain forced to gzip", in: []byte("plain\n"), gz: true, openErr: true},
		{name: "gzip by content", in: whole, want: "line 1\nline 2\n", wantGzip: true},
		{name: "gzip by name", in: whole, gz: true, want: "line 1\nline 2\n", wantGzip: true},
		{name: "empty", in: nil, want: ""},
		{name: "empty forced to gzip", in: nil, gz: true, openErr: true},
		{name: "truncated gzip keeps what was read", in: whole[:len(whole)-10], want: "line 1\nline 2\n", wantGzip: true, readErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &closeCounter{Reader: bytes.NewReader(tt.in)}
			r, err := NewReader(in, tt.gz)
			if tt.openErr {
				if err == nil {
					t.Fatal("no error")
				}
				if in.closed != 1 {
					t.Errorf("input closed %d times on error, want 1", in.closed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if !errors.Is(err, tt.readErr) {
				t.Errorf("read error = %v, want %v", err, tt.readErr)
			}
			if string(got) != tt.want || r.Gzip != tt.wantGzip {
				t.Errorf("got %q gzip=%v, want %q gzip=%v", got, r.Gzip, tt.want, tt.wantGzip)
			}
			// Close reports a truncated stream again; the input is closed anyway.
			r.Close()
			if in.closed != 1 {
				t.Errorf("input closed %d times, want 1", in.closed)
			}
		})
	}
}
