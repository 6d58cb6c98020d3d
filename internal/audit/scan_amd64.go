package audit

// scanStringFast is scanStringSWAR sixteen bytes at a time (SSE2, which
// every amd64 has). The parser asks it only where the line's index has no
// answer (index.go) and for values outside an indexed line.
//
//go:noescape
func scanStringFast(b []byte, i int) (end int, esc bool)
