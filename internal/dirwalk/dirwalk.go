// Package dirwalk lists the input files under a directory (snapshot files,
// rotated audit logs) and says what it did not read and why, never
// silently: unreadable directories, FIFOs, devices and sockets (never
// opened: a read would block or never end), links followed once.
package dirwalk

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a regular file to read.
type File struct {
	Path string
	Size int64
}

// Skip is a path that was not read.
type Skip struct {
	Path string
	Err  error
	// Lost says input may have been missed: an unreadable directory, a
	// special or unreadable file. Otherwise the path was a link to
	// something read already.
	Lost bool
}

func (s Skip) Error() string { return fmt.Sprintf("%s: %v", s.Path, s.Err) }

// Filter says which directories to descend into (the root always is) and
// which files to keep, by base name.
type Filter struct {
	Dir  func(name string) bool
	File func(name string) bool
}

// Walk returns the files under root that f keeps, in lexical order, and
// what it skipped. Links are followed: a link to a file or directory
// already read (a loop, or two names for one log) is read once.
func Walk(root string, f Filter) ([]File, []Skip) {
	w := &walker{filter: f, seen: map[string]string{}}
	w.dir(root)
	return w.files, w.skips
}

// readDir is os.ReadDir; tests running as root, who may read any
// directory, replace it to see an unreadable one.
var readDir = os.ReadDir

type walker struct {
	filter Filter
	seen   map[string]string // real path -> the path it was read as
	files  []File
	skips  []Skip
}

// first records path's target as read and says whether it was not already.
func (w *walker) first(path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return true // read it; the read will say what is wrong
	}
	if abs, err := filepath.Abs(real); err == nil {
		real = abs
	}
	if prev, ok := w.seen[real]; ok {
		w.skips = append(w.skips, Skip{Path: path, Err: fmt.Errorf("not read again: the same as %s", prev)})
		return false
	}
	w.seen[real] = path
	return true
}

func (w *walker) dir(path string) {
	if !w.first(path) {
		return
	}
	entries, err := readDir(path)
	if err != nil {
		// What was listed before the error is still read.
		w.skips = append(w.skips, Skip{Path: path, Err: err, Lost: true})
	}
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		mode := e.Type()
		var size int64
		if mode&fs.ModeSymlink != 0 || mode.IsRegular() {
			fi, err := os.Stat(p) // follows a link
			if err != nil {
				if w.filter.File(e.Name()) {
					w.skips = append(w.skips, Skip{Path: p, Err: err, Lost: true})
				}
				continue
			}
			mode, size = fi.Mode().Type(), fi.Size()
		}
		switch {
		case mode.IsDir():
			if w.filter.Dir(e.Name()) {
				w.dir(p)
			}
		case !w.filter.File(e.Name()):
		case mode.IsRegular():
			if w.first(p) {
				w.files = append(w.files, File{Path: p, Size: size})
			}
		default:
			w.skips = append(w.skips, Skip{Path: p, Err: fmt.Errorf("not read: %s, not a regular file", FileType(mode)), Lost: true})
		}
	}
}

// FileType names what a file that is not a regular one is, for messages:
// "a named pipe", "a device".
func FileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
