//go:build linux

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/sizelimit"
)

// A mapped file and the same bytes read give the same report: the same
// lines, chunks cut at the same line ends, the same line and input maxima
// and messages.
func TestMappedMatchesRead(t *testing.T) {
	var gen bytes.Buffer
	if _, err := Generate(&gen, GenerateOptions{Seed: 3, Bytes: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	long := strings.Repeat("x", 300<<10)
	tests := []struct {
		name    string
		content string
		opts    Options
	}{
		{"generated", gen.String(), Options{}},
		{"generated, small chunks", gen.String(), Options{ChunkSize: 4 << 10}},
		{"a line longer than a chunk", ok + strings.Repeat("y", 100<<10) + "\n" + ok, Options{ChunkSize: 16 << 10}},
		{"a line past the maximum", ok + long + "\n" + ok, Options{ChunkSize: 16 << 10, MaxLine: 64 << 10}},
		{"the last line past the maximum", ok + ok + long, Options{ChunkSize: 16 << 10, MaxLine: 64 << 10}},
		{"the last line without a newline", ok + strings.TrimSuffix(ok, "\n"), Options{}},
		{"blank lines and CRLF", "\n\r\n" + strings.ReplaceAll(ok, "\n", "\r\n") + "\n\n" + ok, Options{ChunkSize: 64}},
		{"past the input maximum", gen.String(), Options{MaxInput: 1<<20 + 100}},
		{"chunks larger than the line maximum", strings.Repeat("x", 2000) + "\n" + ok + strings.Repeat("y", 700) + "\n" + ok, Options{ChunkSize: 1000, MaxLine: 512}},
		{"chunks larger than the line maximum, the last line past it", ok + strings.Repeat("x", 2000), Options{ChunkSize: 1000, MaxLine: 512}},
		{"a line past the maximum, the buffer grown to it", strings.Repeat("x", 1740) + "\n" + ok, Options{ChunkSize: 1331, MaxLine: 1688}},
		{"the input maximum within a line past the line maximum", ok + strings.Repeat("x", 2000) + "\n" + ok, Options{ChunkSize: 600, MaxLine: 512, MaxInput: sizelimit.Size(len(ok) + 1000)}},
		{"malformed", ok + "{\"verb\":\"li\n" + "not json\n" + ok, Options{ChunkSize: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			mapped := 0
			opts := tt.opts
			opts.mapped = func(*mapping) { mapped++ }
			got := analyze(t, opts, fileInput(path, int64(len(tt.content))))
			if mapped != 1 {
				t.Fatalf("the file was mapped %d times, want once", mapped)
			}
			want := analyze(t, tt.opts, StringInput(path, tt.content))
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			if !bytes.Equal(g, w) {
				t.Errorf("mapped and read reports differ:\n%s", firstDiff(string(g), string(w)))
			}
			if got.Lines == 0 {
				t.Error("no lines")
			}
		})
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: mapped %q, read %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(la), len(lb))
}

// generatedLog writes a generated log of about n bytes to a file.
func generatedLog(t *testing.T, n int64) ([]byte, string) {
	t.Helper()
	var gen bytes.Buffer
	if _, err := Generate(&gen, GenerateOptions{Seed: 3, Bytes: n}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, gen.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return gen.Bytes(), path
}

// A file truncated while mapped (logrotate's copytruncate) faults on the
// pages past its new end: the reader reports the input as truncated, with
// what it read before, and the process lives.
func TestMappedTruncatedUnderTheReader(t *testing.T) {
	gen, path := generatedLog(t, 2<<20)
	opts := Options{ChunkSize: 256 << 10, mapped: func(*mapping) {
		if err := os.Truncate(path, 512<<10); err != nil {
			t.Error(err)
		}
	}}
	r := analyze(t, opts, fileInput(path, int64(len(gen))))
	if len(r.Inputs) != 1 || !strings.Contains(r.Inputs[0].Truncated, "the file shrank while it was read") {
		t.Fatalf("inputs = %+v", r.Inputs)
	}
	before := bytes.Count(gen[:512<<10], []byte("\n"))
	if r.Lines == 0 || r.Lines > int64(before) {
		t.Errorf("lines = %d, want some of the %d before the new end", r.Lines, before)
	}
	t.Log(r.Inputs[0].Truncated)
}

// A chunk whose pages go while a worker parses it ends the input there.
func TestMappedTruncatedUnderAWorker(t *testing.T) {
	gen, path := generatedLog(t, 1<<20)
	m, _ := mapInput(fileInput(path, int64(len(gen))), 1<<30)
	if m == nil {
		t.Fatal("not mapped")
	}
	defer m.close()
	if err := os.Truncate(path, 64<<10); err != nil {
		t.Fatal(err)
	}
	opts := Options{MaxLine: DefaultMaxLine, fans: newRegistry()}
	jobs := make(chan *job, 1)
	j := &job{data: m.data, name: path, mapped: m, done: make(chan *chunkResult, 1)}
	m.chunks.Add(1)
	jobs <- j
	close(jobs)
	work(newPartial(newRegistry()), jobs, newBufferPool(1<<20), &opts)
	res := <-j.done
	if res.fault == nil || !strings.Contains(res.fault.Error(), "the file shrank") {
		t.Fatalf("fault = %v", res.fault)
	}
	before := int64(bytes.Count(gen[:64<<10], []byte("\n")))
	if res.lines < before-1 || res.lines > before {
		t.Errorf("lines = %d, want the %d whole lines before the new end", res.lines, before)
	}
}

// Cancelled while the reader waits for the merger: Analyze returns, as it
// does for a read input, rather than wait for chunks no worker will get.
func TestMappedCancelled(t *testing.T) {
	gen, path := generatedLog(t, 1<<20)
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		opts := Options{Workers: 2, ChunkSize: 4 << 10, mapped: func(*mapping) { cancel() }}
		done := make(chan error, 1)
		go func() {
			_, err := Analyze(ctx, []Input{fileInput(path, int64(len(gen)))}, opts)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("no error after cancel")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Analyze did not return after cancel")
		}
	}
}
