package audit

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// indexLine sets m's bits for b (see index).
func indexLine(b []byte, m []byte) {
	if hasAVX2 && len(b) >= 32 {
		indexAVX2(b, m)
		return
	}
	indexGo(b, m)
}

//go:noescape
func indexAVX2(b []byte, m []byte)
