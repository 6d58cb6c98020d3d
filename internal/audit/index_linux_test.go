package audit

import (
	"syscall"
	"testing"
)

// TestIndexStaysInsideTheLine: the index and the parse never read past
// the line, which may end where its buffer ends. Each line is put at
// the end of a readable page, before one that cannot be read.
func TestIndexStaysInsideTheLine(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skip(err)
	}
	line := []byte(eventPrefixMetadata + `"auditID":"a","stage":"ResponseComplete","verb":"get","user":{"username":"u\"x"},"requestURI":"/api/v1/pods","stageTimestamp":"2024-05-28T12:23:11.223456Z"}`)
	var p Parser
	var ev Event
	for n := 0; n <= min(300, len(line)); n++ {
		b := mem[page-n : page]
		copy(b, line[len(line)-n:])
		p.idx.cut(b)
		_ = p.Parse(b, &ev)
		copy(b, line[:n])
		p.idx.cut(b)
		_ = p.Parse(b, &ev)
	}
}
