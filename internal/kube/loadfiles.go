package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/premortem/premortem/internal/dirwalk"
	"github.com/premortem/premortem/internal/gzipfile"
	"github.com/premortem/premortem/internal/sizelimit"
)

// snapshotFiles expands paths: a file stands for itself, a directory for
// every snapshot file under it (recursively, links followed once). What a
// walk skipped comes back too: unreadable directories, special files.
func snapshotFiles(paths []string) ([]string, []dirwalk.Skip, error) {
	var files []string
	var skipped []dirwalk.Skip
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, skips := dirwalk.Walk(p, dirwalk.Filter{
			Dir:  func(string) bool { return true },
			File: isSnapshotFile,
		})
		if len(found) == 0 {
			for _, s := range skips {
				if s.Lost {
					return nil, nil, fmt.Errorf("snapshot: %w", s)
				}
			}
			return nil, nil, fmt.Errorf("snapshot: %s: no .json, .yaml or .yml files (optionally .gz)", p)
		}
		for _, f := range found {
			files = append(files, f.Path)
		}
		skipped = append(skipped, skips...)
	}
	return files, skipped, nil
}

func isSnapshotFile(path string) bool {
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

// openSnapshotFile opens a snapshot file with gzip undone: a .gz name must
// hold gzip. Reads fail past max bytes (decompressed), unless max is 0.
func openSnapshotFile(path string, max sizelimit.Size) (*gzipfile.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := gzipfile.NewReader(f, strings.HasSuffix(strings.ToLower(path), ".gz"))
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	r.Max = max
	return r, nil
}

// file reads one file, recording what went wrong as problems.
func (l *loader) file(path string) {
	l.path, l.objects = path, 0
	r, err := openSnapshotFile(path, l.limits.Input)
	if err != nil {
		l.problem("", nil, err)
		return
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	l.base = 0
	first, lead, err := firstByte(br)
	if err == io.EOF {
		return // empty file
	}
	if err != nil {
		l.readError(lead.bytes, err)
		return
	}
	if first == '{' || first == '[' {
		l.jsonStream(br, lead.bytes)
		return
	}
	l.yamlStream(br, lead)
}

// leading is the whitespace before a file's first byte of content.
type leading struct {
	bytes int64
	lines int    // newlines
	tail  []byte // after the last newline: the first line's indentation
}

// readError reports a failure to read the file itself (truncation, I/O).
func (l *loader) readError(offset int64, err error) {
	var tl *tooLarge
	var le *sizelimit.Error
	if errors.As(err, &tl) {
		l.problem(tl.where(), nil, fmt.Errorf("%w; kept the %d objects read before it, not the rest of the file", err, l.objects))
		return
	} else if errors.As(err, &le) { // the file's own maximum
		l.problem(fmt.Sprintf("byte %d", le.Max), nil, fmt.Errorf("%w; kept the %d objects read before it", err, l.objects))
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		l.problem(fmt.Sprintf("line %d", lineAt(l.path, offset)), nil,
			fmt.Errorf("file ends early (truncated?) at byte %d; kept the %d objects read before it", offset, l.objects))
		return
	}
	var oe *offsetError
	var se *json.SyntaxError
	if errors.As(err, &oe) {
		offset = l.base + oe.offset
	} else if errors.As(err, &se) {
		offset = l.base + se.Offset
	}
	l.problem(fmt.Sprintf("line %d", lineAt(l.path, offset)), nil, fmt.Errorf("%w (kept the %d objects read before it)", err, l.objects))
}

// firstByte reads past leading whitespace, holding none of it but the
// last line's (up to 4 KiB), and returns the first byte after it.
func firstByte(br *bufio.Reader) (byte, leading, error) {
	var lead leading
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, lead, err
		}
		switch b {
		case '\n':
			lead.lines++
			lead.tail = lead.tail[:0]
		case ' ', '\t', '\r':
			if len(lead.tail) < 4<<10 {
				lead.tail = append(lead.tail, b)
			}
		default:
			return b, lead, br.UnreadByte()
		}
		lead.bytes++
	}
}

// lineAt counts the lines of path (decompressed) up to offset, for error
// messages; it reads the file again rather than tracking lines while
// decoding, which would cost every read for the rare bad file.
func lineAt(path string, offset int64) int {
	r, err := openSnapshotFile(path, 0)
	if err != nil {
		return 0
	}
	defer r.Close()
	line := 1
	buf := make([]byte, 64<<10)
	var read int64
	for read < offset {
		n, err := r.Read(buf[:min(int64(len(buf)), offset-read)])
		line += bytes.Count(buf[:n], []byte{'\n'})
		read += int64(n)
		if err != nil {
			break
		}
	}
	return line
}
