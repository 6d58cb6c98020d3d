package audit

import (
	"os"
	"syscall"
)

// mapInput maps in when it is a plain regular file, up to max bytes, and
// returns its size on disk. It returns nil, without an error, for what is
// read instead: stdin, pipes, gzip, empty files, and any file that cannot
// be mapped.
func mapInput(in Input, max int64) (*mapping, int64) {
	if in.path == "" || in.skipped != nil {
		return nil, 0
	}
	f, err := os.Open(in.path)
	if err != nil {
		return nil, 0 // the read path reports it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 2 {
		return nil, 0
	}
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || magic == [2]byte{0x1f, 0x8b} {
		return nil, 0
	}
	n := min(fi.Size(), max)
	if int64(int(n)) != n {
		return nil, 0
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, 0
	}
	// Read ahead aggressively and drop pages behind: one pass, in order.
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return &mapping{data: data}, fi.Size()
}

// release lets go of the whole pages in data[lo:hi]: they stay in the page
// cache, out of the resident set.
func (m *mapping) release(lo, hi int) {
	page := os.Getpagesize()
	lo = (lo + page - 1) &^ (page - 1)
	hi &^= page - 1
	if lo < hi {
		_ = syscall.Madvise(m.data[lo:hi], syscall.MADV_DONTNEED)
	}
}

func (m *mapping) close() { _ = syscall.Munmap(m.data) }
