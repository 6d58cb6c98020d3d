package audit

// scanStringFast is scanStringSWAR sixteen bytes at a time (SSE2, which
// every amd64 has): most strings of an audit event end within the first
// sixteen bytes, so most take one comparison and no loop.
//
//go:noescape
func scanStringFast(b []byte, i int) (end int, esc bool)

// prefetch asks for b to be brought into the cache (PREFETCHT0 on each of
// its cache lines); it never faults, even past the end of a mapping.
//
//go:noescape
func prefetch(b []byte)
