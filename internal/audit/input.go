package audit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/premortem/premortem/internal/dirwalk"
	"github.com/premortem/premortem/internal/gzipfile"
	"github.com/premortem/premortem/internal/sizelimit"
)

// Input is one audit log: a file (plain or gzip, detected by content) or a
// stream such as stdin.
type Input struct {
	Name string
	// Size in bytes on disk (compressed for gzip), 0 when unknown.
	Size int64
	open func() (io.ReadCloser, error)
	// skipped says why a path found in a directory is not read at all.
	skipped error
}

// Inputs expands command-line arguments: files, directories (every regular
// file under them, rotated logs included, links followed once) and "-" for
// stdin. Under a directory, an unreadable subdirectory or a FIFO, device or
// socket is an input that is not read (the report says so); notes say what
// was read once though found twice (a link to a log read already).
func Inputs(args []string, stdin io.Reader) (ins []Input, notes []string, err error) {
	for _, a := range args {
		if a == "-" {
			ins = append(ins, Input{Name: "-", open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			ins = append(ins, fileInput(a, fi.Size()))
			continue
		}
		visible := func(name string) bool { return !strings.HasPrefix(name, ".") }
		files, skips := dirwalk.Walk(a, dirwalk.Filter{Dir: visible, File: visible})
		var lost []Input
		for _, s := range skips {
			if s.Lost {
				lost = append(lost, Input{Name: s.Path, skipped: s.Err})
			} else {
				notes = append(notes, s.Error())
			}
		}
		if len(files) == 0 {
			if len(lost) > 0 {
				return nil, nil, fmt.Errorf("reading directory %s: %s: %w", a, lost[0].Name, lost[0].skipped)
			}
			return nil, nil, fmt.Errorf("directory %s holds no files", a)
		}
		for _, f := range files {
			ins = append(ins, fileInput(f.Path, f.Size))
		}
		ins = append(ins, lost...)
	}
	return ins, notes, nil
}

func fileInput(path string, size int64) Input {
	return Input{Name: path, Size: size, open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		c := &shrinkCheck{f: f}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			c.opened = fi.Size()
		}
		return c, nil
	}}
}

// shrinkCheck tells a file cut short while it is read (logrotate's
// copytruncate) from one read to its end, so that the input is reported
// as truncated rather than as complete: at the end, fewer bytes were read
// than the file held when opened (cut, perhaps written again since), or
// it is now shorter than what was read. Files that say they are empty
// when opened (/proc) are not checked.
type shrinkCheck struct {
	f      *os.File
	opened int64 // size when opened
	n      int64 // bytes read
}

func (c *shrinkCheck) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	c.n += int64(n)
	if err == io.EOF && c.opened > 0 {
		if fi, serr := c.f.Stat(); serr == nil && (c.n < c.opened || fi.Size() < c.n) {
			return n, fmt.Errorf("the file shrank while it was read (truncated by log rotation?): %d bytes when opened, %d at the end, %d read", c.opened, fi.Size(), c.n)
		}
	}
	return n, err
}

func (c *shrinkCheck) Close() error { return c.f.Close() }

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
// magic number, whatever the name. Reads fail past max bytes
// (decompressed), unless max is 0.
func openDecoded(in Input, counter *int64Counter, max sizelimit.Size) (*gzipfile.Reader, error) {
	if in.skipped != nil {
		return nil, in.skipped
	}
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
	d.Max = max
	return d, nil
}

// firstTime returns the stage time of the first parsable event of in, used
// to order inputs so rotated logs are read oldest first and only logs that
// overlap in time are read at once.
func firstTime(in Input) int64 {
	if in.Name == "-" {
		return 0
	}
	d, err := openDecoded(in, nil, 0)
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
