package dirwalk

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestWalk(t *testing.T) {
	root := t.TempDir()
	other := t.TempDir()
	mk := func(dir, name string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk(root, "a.log")
	mk(root, "sub/b.log")
	mk(root, ".hidden/c.log")
	mk(other, "d.log")
	link(other, "linked")                       // a directory elsewhere: followed
	link(root, "sub/loop")                      // a loop: read once
	link(filepath.Join(root, "a.log"), "z.log") // a second name for a.log
	link("/dev/null", "null.log")               // a device: never opened
	link(filepath.Join(root, "gone"), "broken.log")
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(root, "locked")
	mk(root, "locked/e.log")
	os.Chmod(locked, 0)
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	if os.Getuid() == 0 {
		// root reads any directory whatever its mode.
		readDir = func(p string) ([]os.DirEntry, error) {
			if p == locked {
				return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EACCES}
			}
			return os.ReadDir(p)
		}
		t.Cleanup(func() { readDir = os.ReadDir })
	}

	files, skips := Walk(root, Filter{
		Dir:  func(n string) bool { return !strings.HasPrefix(n, ".") },
		File: func(n string) bool { return strings.HasSuffix(n, ".log") },
	})
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimPrefix(f.Path, root+"/"))
	}
	want := []string{"a.log", "linked/d.log", "sub/b.log"}
	if !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	var gotSkips []string
	for _, s := range skips {
		mark := "note"
		if s.Lost {
			mark = "lost"
		}
		gotSkips = append(gotSkips, mark+" "+strings.ReplaceAll(s.Error(), root+"/", ""))
	}
	wantSkips := []string{
		"lost broken.log: stat broken.log: no such file or directory",
		"lost fifo.log: not read: a named pipe, not a regular file",
		"lost locked: open locked: permission denied",
		"lost null.log: not read: a device, not a regular file",
		"note sub/loop: not read again: the same as " + root,
		"note z.log: not read again: the same as a.log",
	}
	if !slices.Equal(gotSkips, wantSkips) {
		t.Errorf("skips:\n%s\nwant:\n%s", strings.Join(gotSkips, "\n"), strings.Join(wantSkips, "\n"))
	}
}
