package audit

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// indexNewline indexes b up to its first newline, whose offset it
// returns, or len(b) (see index.cut).
func indexNewline(b []byte, m []byte) int {
	if hasAVX2 && len(b) >= 32 {
		return indexNewlineAVX2(b, m)
	}
	return indexNewlineGo(b, m)
}

//go:noescape
func indexNewlineAVX2(b []byte, m []byte) int
