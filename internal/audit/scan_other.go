//go:build !amd64

package audit

func scanStringFast(b []byte, i int) (end int, esc bool) { return scanStringSWAR(b, i) }
