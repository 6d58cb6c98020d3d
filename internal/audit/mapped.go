package audit

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/premortem/premortem/internal/sizelimit"
)

// A plain log file is mapped, not read: the workers parse the page cache
// in place, which saves the read calls' copy of every byte (a sixth of
// the analysis' CPU time; docs/benchmarks.md). A file truncated while
// mapped (logrotate's copytruncate) faults on the pages past its new end:
// the goroutines that touch the mapping turn that fault into a panic
// (debug.SetPanicOnFault) and report the input as truncated.

// mapping is one mapped input.
type mapping struct {
	data []byte
	// chunks counts the chunks the workers still hold: the mapping is
	// unmapped only when none does.
	chunks sync.WaitGroup
}

// readMapped cuts a mapped input into chunks of whole lines, as
// readChunks does with a read one: the same lines, line maximum, input
// maximum and messages.
func readMapped(ctx context.Context, in Input, m *mapping, size int64, opts *Options, send func(*job) bool,
	end func(truncated func(line int64) string), skipLine func(start, length int64) bool, read *int64Counter) {
	defer m.close()
	defer m.chunks.Wait()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	off := 0
	defer func() {
		if r := recover(); r != nil {
			err := m.fault(r)
			end(func(line int64) string { return truncatedWhileMapped(line, err) })
		}
	}()
	if opts.mapped != nil {
		opts.mapped(m)
	}
	data := m.data
	n := len(data)
	if size > int64(n) {
		// Mapped up to the input maximum: its incomplete last line is
		// dropped, as a read drops it.
		n = bytes.LastIndexByte(data, '\n') + 1
	}
	maxLine := int(opts.MaxLine)
	// Pages behind the reader are let go in steps, so that the resident
	// set stays about that of a read, not the whole file's. A chunk a
	// worker still parses is at most the queues' length behind (the order
	// channel bounds how far the reader runs ahead of the merger); letting
	// go of one early costs faults, not data: the pages stay in the cache.
	lag := (2*opts.Workers + 4) * opts.ChunkSize
	released := 0
	for off < n {
		if off-lag-released >= releaseStep {
			m.release(released, off-lag)
			released = off - lag
		}
		e := min(off+opts.ChunkSize, n)
		if e < n {
			limit := min(n, off+maxLine+1) // a line and its newline within the maximum
			if cut := bytes.LastIndexByte(data[off:e], '\n'); cut >= 0 {
				e = off + cut + 1
			} else if nl := bytes.IndexByte(data[min(e, limit):limit], '\n'); nl >= 0 {
				e += nl + 1 // a line longer than a chunk, within the maximum
			} else if off+maxLine+1 > n {
				e = n // the last line, without a newline
			} else {
				// Past the maximum: skipped, unread by the workers.
				next := n
				if nl := bytes.IndexByte(data[off+maxLine+1:], '\n'); nl >= 0 {
					next = off + maxLine + 1 + nl
				}
				if !skipLine(int64(off), int64(next-off)) {
					return
				}
				read.Add(int64(min(next+1, n) - off))
				off = min(next+1, n)
				continue
			}
		}
		m.chunks.Add(1)
		j := &job{data: data[off:e], name: in.Name, mapped: m, off: off, done: make(chan *chunkResult, 1)}
		read.Add(int64(e - off))
		if !send(j) {
			return
		}
		off = e
		if ctx.Err() != nil {
			return
		}
	}
	if size > int64(len(data)) {
		// Ended at the input maximum: as a read ends there.
		rerr := &sizelimit.Error{Limit: "input", Max: opts.MaxInput}
		end(func(line int64) string { return readError(line, int64(n), len(data)-n, rerr) })
		return
	}
	end(nil)
}

// releaseStep is how much of the mapping is let go of at once: a call per
// chunk cost 5% of the analysis.
const releaseStep = 8 << 20

// done is called once a worker (or a cancelled send) is through with a
// chunk.
func (m *mapping) done() { m.chunks.Done() }

// fault returns the error for a recovered panic r if it is a fault inside
// the mapping, and panics again with anything else.
func (m *mapping) fault(r any) error {
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
		if a := f.Addr(); a >= base && a < base+uintptr(len(m.data)) {
			return fmt.Errorf("the file shrank while it was read (truncated by log rotation?): fault at byte %d", a-base)
		}
	}
	panic(r)
}

func truncatedWhileMapped(line int64, err error) string {
	return fmt.Sprintf("input ends unexpectedly at line %d: %v; kept everything before", line, err)
}
