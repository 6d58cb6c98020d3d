//go:build !amd64

package audit

func indexLine(b []byte, m []byte) { indexGo(b, m) }

func indexNewline(b []byte, m []byte) int { return indexNewlineGo(b, m) }
