package gzipfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/sizelimit"
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

// A Read of gzip input fills the buffer, as a file read does: encoding/json
// rescans its buffer after every refill, so 32 KiB reads (the decompressor's
// window) made a long run of whitespace quadratic.
func TestReadFills(t *testing.T) {
	data := gzipped(strings.Repeat(" ", 4<<20))
	r, err := NewReader(io.NopCloser(bytes.NewReader(data)), true)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for range 4 {
		if n, err := r.Read(buf); n != len(buf) || err != nil {
			t.Fatalf("Read = %d, %v; want %d, nil", n, err, len(buf))
		}
	}
}

func TestMax(t *testing.T) {
	const size = 100 << 10
	tests := []struct {
		name    string
		in      []byte
		max     sizelimit.Size
		wantErr bool
	}{
		{name: "plain, exactly the maximum", in: bytes.Repeat([]byte("a"), size), max: size},
		{name: "plain, one byte more", in: bytes.Repeat([]byte("a"), size+1), max: size, wantErr: true},
		{name: "gzip, exactly the maximum", in: gzipped(strings.Repeat("a", size)), max: size},
		{name: "gzip bomb", in: gzipped(strings.Repeat("\x00", 100*size)), max: size, wantErr: true},
		{name: "no maximum", in: gzipped(strings.Repeat("\x00", 100*size))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(io.NopCloser(bytes.NewReader(tt.in)), false)
			if err != nil {
				t.Fatal(err)
			}
			r.Max = tt.max
			got, err := io.ReadAll(r)
			var se *sizelimit.Error
			if tt.wantErr != errors.As(err, &se) || (!tt.wantErr && err != nil) {
				t.Fatalf("err = %v, want a size error: %v", err, tt.wantErr)
			}
			if tt.max > 0 && int64(len(got)) > int64(tt.max) {
				t.Errorf("read %d bytes past the maximum %d", len(got), tt.max)
			}
		})
	}
}
