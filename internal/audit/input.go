package audit

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/premortem/premortem/internal/gzipfile"
)

// Input is one audit log: a file (plain or gzip, detected by content) or a
// stream such as stdin.
type Input struct {
	Name string
	// Size in bytes on disk (compressed for gzip), 0 when unknown.
	Size int64
	open func() (io.ReadCloser, error)
}

// Inputs expands command-line arguments: files, directories (every regular
// file under them, rotated logs included) and "-" for stdin.
func Inputs(args []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	for _, a := range args {
		if a == "-" {
			out = append(out, Input{Name: "-", open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, fileInput(a, fi.Size()))
			continue
		}
		var files []Input
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, fileInput(p, info.Size()))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", a, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("directory %s holds no files", a)
		}
		out = append(out, files...)
	}
	return out, nil
}

func fileInput(path string, size int64) Input {
	return Input{Name: path, Size: size, open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// StringInput is an in-memory input, for tests.
func StringInput(name, content string) Input {
	return Input{Name: name, Size: int64(len(content)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content)), nil
	}}
}

// countingReader counts the bytes read from the underlying (possibly
// compressed) input, for the progress bar.
type countingReader struct {
	io.ReadCloser
	n *int64Counter
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openDecoded opens in and undoes gzip when the content starts with its
// magic number, whatever the name.
func openDecoded(in Input, counter *int64Counter) (*gzipfile.Reader, error) {
	rc, err := in.open()
	if err != nil {
		return nil, err
	}
	if counter != nil {
		rc = countingReader{ReadCloser: rc, n: counter}
	}
	d, err := gzipfile.NewReader(rc, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	return d, nil
}

// firstTime returns the stage time of the first parsable event of in, used
// to order inputs so rotated logs are read oldest first and only logs that
// overlap in time are read at once.
func firstTime(in Input) int64 {
	if in.Name == "-" {
		return 0
	}
	d, err := openDecoded(in, nil)
	if err != nil {
		return 0
	}
	defer d.Close()
	sc := bufio.NewScanner(d)
	sc.Buffer(make([]byte, 0, 1<<16), 4<<20)
	var p Parser
	var ev Event
	for n := 0; n < 100 && sc.Scan(); n++ {
		if p.Parse(sc.Bytes(), &ev) == nil && ev.StageTime != 0 {
			return ev.StageTime
		}
	}
	return 0
}

// sortInputs orders inputs by the time of their first event; inputs without
// one keep their place at the front.
func sortInputs(ins []Input) ([]Input, []int64) {
	type item struct {
		in Input
		t  int64
	}
	items := make([]item, len(ins))
	for i, in := range ins {
		items[i] = item{in, firstTime(in)}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].t < items[j].t })
	out := make([]Input, len(items))
	ts := make([]int64, len(items))
	for i, it := range items {
		out[i], ts[i] = it.in, it.t
	}
	return out, ts
}
