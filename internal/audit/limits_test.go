package audit

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/sizelimit"
)

// A line past the maximum is skipped and counted as malformed, never held
// whole; the lines around it are read.
func TestLongLine(t *testing.T) {
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	long := strings.Repeat("x", 3<<20)
	tests := []struct {
		name    string
		content string
		opts    Options
		want    string // the malformed example
		line    int64
		lines   int64
	}{
		{"longer than a chunk", ok + long + "\n" + ok, Options{ChunkSize: 64 << 10, MaxLine: 1 << 20},
			fmt.Sprintf("line of 3145728 bytes from decompressed byte %d: larger than the 1MiB maximum for one line; skipped", len(ok)), 2, 3},
		{"the last line, without a newline", ok + ok + long, Options{ChunkSize: 64 << 10, MaxLine: 1 << 20},
			fmt.Sprintf("line of 3145728 bytes from decompressed byte %d: larger than the 1MiB maximum for one line; skipped", 2*len(ok)), 3, 3},
		{"within a chunk", ok + strings.Repeat("y", 2000) + "\n" + ok, Options{ChunkSize: 64 << 10, MaxLine: 1000},
			"line of 2000 bytes: larger than the 1000B maximum for one line; skipped", 2, 3},
		// The read buffer grows for a line longer than a chunk up to the
		// maximum and no further (append rounds capacity up): this line
		// fits what append would give, yet is dropped unread.
		{"longer than a chunk, the buffer grown to the maximum", ok + strings.Repeat("y", 1740) + "\n" + ok, Options{ChunkSize: 1331, MaxLine: 1688},
			fmt.Sprintf("line of 1740 bytes from decompressed byte %d: larger than the 1688B maximum for one line; skipped", len(ok)), 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyze(t, tt.opts, StringInput("a.log", tt.content))
			if r.Malformed != 1 || len(r.MalformedExamples) != 1 {
				t.Fatalf("malformed = %d %+v", r.Malformed, r.MalformedExamples)
			}
			if m := r.MalformedExamples[0]; m.Error != tt.want || m.Line != tt.line {
				t.Errorf("malformed line %d: %q\nwant line %d: %q", m.Line, m.Error, tt.line, tt.want)
			}
			if r.Lines != tt.lines || r.Total.Requests != 2 {
				t.Errorf("lines %d requests %d, want %d and 2", r.Lines, r.Total.Requests, tt.lines)
			}
		})
	}
}

// An input past the maximum (a gzip bomb) is read up to it and reported
// as truncated.
func TestMaxInput(t *testing.T) {
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	for range 1000 {
		zw.Write([]byte(ok))
	}
	zw.Close()
	r := analyze(t, Options{MaxInput: 100 << 10}, StringInput("bomb.log.gz", z.String()))
	if len(r.Inputs) != 1 || !strings.Contains(r.Inputs[0].Truncated, "larger than the 100KiB maximum for one input (decompressed)") {
		t.Errorf("inputs = %+v", r.Inputs)
	}
	if r.Total.Requests == 0 || r.Total.Requests >= 1000 {
		t.Errorf("requests = %d, want those before the maximum", r.Total.Requests)
	}

	// The maximum reached inside a line past the line maximum: the bytes
	// of that line read so far are the ones dropped.
	content := ok + strings.Repeat("x", 2000) + "\n" + ok
	max := sizelimit.Size(len(ok) + 1000)
	r = analyze(t, Options{ChunkSize: 600, MaxLine: 512, MaxInput: max}, StringInput("a.log", content))
	want := fmt.Sprintf("read error at line 2 (decompressed byte %d): %v; 1000 bytes of an incomplete line dropped", len(ok), &sizelimit.Error{Limit: "input", Max: max})
	if len(r.Inputs) != 1 || r.Inputs[0].Truncated != want {
		t.Errorf("inputs = %+v\nwant truncated %q", r.Inputs, want)
	}
	if r.Total.Requests != 1 || r.Malformed != 0 {
		t.Errorf("requests %d malformed %d, want 1 and 0", r.Total.Requests, r.Malformed)
	}
}

// A log directory: FIFOs, devices and sockets are never opened, an
// unreadable subdirectory is an input not read (named in the report),
// linked directories are followed once.
func TestInputsDirectory(t *testing.T) {
	ok := tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line()
	dir, elsewhere := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "audit.log"), []byte(ok), 0o644)
	os.WriteFile(filepath.Join(elsewhere, "audit-2.log"), []byte(ok), 0o644)
	for name, target := range map[string]string{"linked": elsewhere, "loop": dir, "zero": "/dev/zero", "current.log": filepath.Join(dir, "audit.log")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ins, notes, err := Inputs([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range ins {
		names = append(names, strings.TrimPrefix(in.Name, dir+"/"))
	}
	if got, want := strings.Join(names, " "), "audit.log linked/audit-2.log fifo zero"; got != want {
		t.Errorf("inputs = %q, want %q", got, want)
	}
	if got := strings.ReplaceAll(strings.Join(notes, "\n"), dir+"/", ""); got != "current.log: not read again: the same as audit.log\nloop: not read again: the same as "+dir {
		t.Errorf("notes = %q", got)
	}
	r := analyze(t, Options{}, ins...)
	if r.Total.Requests != 2 {
		t.Errorf("requests = %d, want 2", r.Total.Requests)
	}
	truncated := map[string]string{}
	for _, in := range r.Inputs {
		truncated[strings.TrimPrefix(in.Name, dir+"/")] = in.Truncated
	}
	if truncated["fifo"] != "not read: a named pipe, not a regular file" || truncated["zero"] != "not read: a device, not a regular file" {
		t.Errorf("truncated = %q", truncated)
	}
}

// A file truncated while it is read (logrotate's copytruncate) is
// reported as truncated, with the lines read before it; one that grows is
// read to its new end.
func TestFileChangedWhileRead(t *testing.T) {
	var gen bytes.Buffer
	if _, err := Generate(&gen, GenerateOptions{Seed: 3, Bytes: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	all := int64(bytes.Count(gen.Bytes(), []byte("\n")))
	more := gen.Bytes()[:bytes.LastIndexByte(gen.Bytes()[:1<<20], '\n')+1]
	appendMore := func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(more); err != nil {
			t.Error(err)
		}
		f.Close()
	}
	cut := func(t *testing.T, path string) {
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		change    func(t *testing.T, path string)
		truncated bool
		lines     func(n int64) bool
	}{
		{"cut", cut, true, func(n int64) bool { return n > 0 && n < all/2 }},
		{"cut and written again", func(t *testing.T, path string) { cut(t, path); appendMore(t, path) }, true, func(n int64) bool { return n > 0 && n < all }},
		{"grown", appendMore, false, func(n int64) bool { return n == all+int64(bytes.Count(more, []byte("\n"))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, gen.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			changed := false
			// The reader runs at most a few chunks ahead of the merger
			// (their number set by the workers'), which reports progress
			// after each: the file changes with most of it unread.
			opts := Options{Workers: 2, ChunkSize: 4 << 10, Progress: func(int64, int64) {
				if !changed {
					changed = true
					tt.change(t, path)
				}
			}}
			r := analyze(t, opts, fileInput(path, int64(gen.Len())))
			if len(r.Inputs) != 1 || strings.Contains(r.Inputs[0].Truncated, "the file shrank while it was read") != tt.truncated {
				t.Fatalf("inputs = %+v, want truncated %v", r.Inputs, tt.truncated)
			}
			if !tt.lines(r.Lines) {
				t.Errorf("lines %d of the %d first written", r.Lines, all)
			}
			t.Log(r.Inputs[0].Truncated)
		})
	}
	// Files that say they are empty when opened are read, not judged.
	if _, err := os.Stat("/proc/self/status"); err == nil {
		r := analyze(t, Options{}, fileInput("/proc/self/status", 0))
		if len(r.Inputs) != 1 || r.Inputs[0].Truncated != "" || r.Lines == 0 {
			t.Errorf("/proc/self/status: lines %d, inputs %+v", r.Lines, r.Inputs)
		}
	}
}
