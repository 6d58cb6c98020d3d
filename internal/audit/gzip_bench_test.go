package audit

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"testing"
)

// rotatedParts is how many rotated files the gzip benchmark splits the log
// into: one API server's log, rotated and compressed as logrotate does.
const rotatedParts = 4

// benchRotated returns the benchmark log split at line ends into
// rotatedParts files, each compressed at gzip's default level (written
// once next to the log), and the decompressed size.
func benchRotated(b *testing.B) ([]string, int64) {
	path, size := benchFile(b)
	var paths []string
	for i := range rotatedParts {
		paths = append(paths, fmt.Sprintf("%s.%d.gz", path, rotatedParts-i))
	}
	if _, err := os.Stat(paths[len(paths)-1]); err == nil {
		return paths, size
	}
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	for i, p := range paths {
		if err := writeGzipPart(r, p+".tmp", size/rotatedParts, i == len(paths)-1); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range paths {
		if err := os.Rename(p+".tmp", p); err != nil {
			b.Fatal(err)
		}
	}
	return paths, size
}

// writeGzipPart compresses whole lines of r into path: at least n bytes,
// or all that is left when last.
func writeGzipPart(r *bufio.Reader, path string, n int64, last bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := gzip.NewWriter(f)
	var written int64
	for last || written < n {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("line over 1 MiB at byte %d of %s", written, path)
		}
		m, werr := w.Write(line)
		written += int64(m)
		if werr != nil {
			return werr
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

// BenchmarkAnalyzeGzipRotated: the whole analysis of the log as rotated,
// gzip-compressed files of one server (MB are decompressed bytes).
func BenchmarkAnalyzeGzipRotated(b *testing.B) {
	paths, size := benchRotated(b)
	benchAnalyzePaths(b, paths, size, Options{}, 1)
}
