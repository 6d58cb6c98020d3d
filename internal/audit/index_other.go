//go:build !amd64

package audit

func indexNewline(b []byte, m []byte) int { return indexNewlineGo(b, m) }
