package audit

// scanStringFast is scanStringSWAR sixteen bytes at a time (SSE2, which
// every amd64 has). The parser asks it only where the line's index has no
// answer (index.go) and for values outside an indexed line.
//
//go:noescape
func scanStringFast(b []byte, i int) (end int, esc bool)

// prefetch asks for b to be brought into the cache (PREFETCHT0 on each of
// its cache lines); it never faults.
//
//go:noescape
func prefetch(b []byte)
