package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/premortem/premortem/internal/sizelimit"
)

type int64Counter = atomic.Int64

// Options tune Analyze.
type Options struct {
	// Since and Until bound the events read by their stage time; zero means open.
	Since, Until time.Time
	// Filter selects the events that count for load attribution.
	Filter Filter
	// Deleted, when set, collects what deletion forensics needs.
	Deleted *Target
	// Top bounds the rows of each table (default 20).
	Top int
	// Workers parse chunks in parallel (default GOMAXPROCS).
	Workers int
	// ChunkSize is the read unit handed to a worker (default 1 MiB).
	ChunkSize int
	// MaxLine bounds one line (default DefaultMaxLine): a longer one is
	// skipped and counted as malformed, never held whole.
	MaxLine sizelimit.Size
	// MaxInput bounds one input, decompressed (default DefaultMaxInput):
	// reading stops there and the input counts as truncated.
	MaxInput sizelimit.Size
	// Progress, when set, is called from the merging goroutine after every
	// chunk with the bytes read so far (compressed bytes for gzip) and the
	// total size of the inputs (0 if unknown).
	Progress func(read, total int64)
	// VerbResourceFlight also sweeps requests in flight per verb and
	// resource (Report.VerbResourcePeaks), for audit --compare; it doubles
	// the sweep's work, so it is off by default.
	VerbResourceFlight bool
	// Outside, when set, collects the identities that call from addresses
	// outside the cluster (Report.Outside), for refs --audit.
	Outside *OutsideOptions

	vrs *registry // verb and resource flight ids, when VerbResourceFlight
	// fans interns the fan-out correlation's keys (fanout.go).
	fans *registry
}

// The default maxima are generous: a RequestResponse line holding a large
// LIST response runs to tens of MiB; rotated logs are rarely over 10 GiB.
const (
	DefaultMaxLine  sizelimit.Size = 256 << 20
	DefaultMaxInput sizelimit.Size = 64 << 30
)

// Malformed is one line that could not be parsed.
type Malformed struct {
	File  string `json:"file"`
	Line  int64  `json:"line"`
	Error string `json:"error"`
}

const maxMalformedExamples = 5

// job is one chunk of complete lines of one input. Its line numbers
// (in Malformed examples, in truncated) count from the chunk's start: the
// merger, which counts the lines of the chunks before, makes them the
// input's, so the reader need not count newlines.
type job struct {
	data []byte
	buf  *[]byte
	name string
	done chan *chunkResult
	// Set on the last job of a stream, which carries no data; truncated,
	// when set, says why the stream ended early, given the number of the
	// line it ended on.
	end       bool
	truncated func(line int64) string
}

type chunkResult struct {
	intervals  []interval
	requests   int64
	queryNanos int64
	lines      int64
	malformed  int64
	examples   []Malformed
	deletions  []Deletion
	fanout     []fanEvent
}

// Analyze reads every input once and returns the report.
func Analyze(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no input")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.Top <= 0 {
		opts.Top = 20
	}
	opts.MaxLine, opts.MaxInput = opts.MaxLine.Or(DefaultMaxLine), opts.MaxInput.Or(DefaultMaxInput)
	if opts.VerbResourceFlight {
		opts.vrs = newRegistry()
	}
	opts.fans = newRegistry()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var total int64
	for _, in := range inputs {
		total += in.Size
	}
	sorted, firstTimes := sortInputs(inputs)

	reg := newRegistry()
	jobs := make(chan *job, 2*opts.Workers)
	pool := newBufferPool(opts.ChunkSize)
	partials := make([]*partial, opts.Workers)
	var wg sync.WaitGroup
	for w := range opts.Workers {
		partials[w] = newPartial(reg)
		wg.Add(1)
		go func(p *partial) {
			defer wg.Done()
			work(p, jobs, pool, &opts)
		}(partials[w])
	}

	var read int64Counter
	var readers sync.WaitGroup
	streams := make([]*stream, len(sorted))
	for i, in := range sorted {
		streams[i] = &stream{in: in, firstT: firstTimes[i]}
	}
	start := func(s *stream) {
		if s.started {
			return
		}
		s.order = make(chan *job, 2*opts.Workers+2)
		s.started = true
		readers.Add(1)
		go func() {
			defer readers.Done()
			readChunks(ctx, s.in, &opts, pool, jobs, s.order, &read)
		}()
	}

	c := &consumer{sweep: newSweep(), fan: newFanCorrelator()}
	err := c.merge(ctx, streams, start, func() {
		if opts.Progress != nil {
			opts.Progress(read.Load(), total)
		}
	})
	if err != nil {
		cancel()
		// Drain so the readers and workers can exit.
		for _, s := range streams {
			if s.started {
				for j := range s.order {
					if !j.end {
						<-j.done
					}
				}
			}
		}
	}
	readers.Wait()
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.sweep.finish()
	c.fan.finish()

	all := newPartial(reg)
	for _, p := range partials {
		all.merge(p)
	}
	rep := buildReport(all, c, reg.snapshot(), opts)
	rep.FanOut = c.fan.report(reg.snapshot(), opts.fans.snapshot(), opts.Top)
	if opts.Deleted != nil {
		rep.Deletion = analyzeDeletion(*opts.Deleted, c.deletions)
	}
	if opts.vrs != nil {
		rep.VerbResourcePeaks = flightPeaks(opts.vrs.snapshot(), c.sweep.verbResources)
	}
	if opts.Outside != nil {
		rep.Outside = all.outside.report(opts.Outside)
	}
	return rep, nil
}

// readChunks cuts one input into chunks of whole lines, queues each for the
// workers and, in the same order, on order for the merger.
func readChunks(ctx context.Context, in Input, opts *Options, pool *bufferPool, jobs chan<- *job, order chan<- *job, read *int64Counter) {
	defer close(order)
	send := func(j *job) bool {
		select {
		case order <- j:
		case <-ctx.Done():
			return false
		}
		if j.end {
			return true
		}
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			// The merger drains order and waits on done: answer it.
			j.done <- &chunkResult{}
			return false
		}
	}
	var carry []byte // partial last line of the previous chunk
	var offset int64 // decompressed bytes handed out so far
	var lost int64   // bytes of a line past the maximum when the read failed
	end := func(why func(line int64) string) { send(&job{end: true, name: in.Name, truncated: why}) }
	// A line may reach maxLine bytes and its newline; a longer one is
	// skipped, unread by the workers, and answered here.
	maxLine := int(opts.MaxLine)
	skipLine := func(start int64, length int64) bool {
		m := Malformed{File: in.Name, Line: 1, Error: fmt.Sprintf("line of %d bytes from decompressed byte %d: %v; skipped",
			length, start, &sizelimit.Error{Limit: "line", Max: opts.MaxLine})}
		j := &job{name: in.Name, done: make(chan *chunkResult, 1)}
		j.done <- &chunkResult{lines: 1, malformed: 1, examples: []Malformed{m}}
		select {
		case order <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	d, err := openDecoded(in, read, opts.MaxInput)
	if in.skipped != nil {
		end(func(int64) string { return err.Error() })
		return
	}
	if err != nil {
		end(func(int64) string { return fmt.Sprintf("cannot open: %v", err) })
		return
	}
	defer d.Close()

	for {
		bp := pool.get()
		buf := (*bp)[:cap(*bp)]
		n := copy(buf, carry)
		if n < len(carry) {
			buf = append(buf[:n], carry[n:]...)
			buf = buf[:cap(buf)]
			n = len(carry)
		}
		var rerr error
		cut := -1
		for {
			for n < len(buf) && rerr == nil {
				var m int
				m, rerr = d.Read(buf[n:])
				n += m
			}
			cut = bytes.LastIndexByte(buf[:n], '\n')
			if cut >= 0 || rerr != nil {
				break
			}
			if n > maxLine {
				// Drop the line up to its newline, reading into buf.
				length := int64(n)
				for rerr == nil {
					var m int
					m, rerr = d.Read(buf)
					if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
						length += int64(i)
						n = copy(buf, buf[i+1:m])
						break
					}
					length += int64(m)
					n = 0
				}
				if rerr == nil || rerr == io.EOF {
					if !skipLine(offset, length) {
						return
					}
					offset += length + 1
				} else {
					lost = length // the incomplete line the read stopped in
				}
				continue
			}
			// A single line longer than the buffer (a large request object
			// logged at RequestResponse level): grow, up to the maximum,
			// and keep reading.
			// Not past maxLine+1 bytes, whatever capacity append rounds
			// up to: a longer line is dropped, never held whole.
			grown := len(buf) + min(len(buf), maxLine+1-len(buf))
			buf = slices.Grow(buf[:n], grown-n)[:grown]
		}
		eof := rerr == io.EOF
		if rerr != nil && eof && n > 0 && (cut < 0 || cut < n-1) {
			// The last line has no newline: it is still a line.
			cut = n - 1
		}
		data := buf[:cut+1]
		carry = append(carry[:0], buf[cut+1:n]...)
		*bp = buf
		if len(data) > 0 {
			j := &job{data: data, buf: bp, name: in.Name, done: make(chan *chunkResult, 1)}
			offset += int64(len(data))
			if !send(j) {
				return
			}
		} else {
			pool.put(bp)
		}
		if rerr != nil {
			at, dropped := offset, len(carry)+int(lost)
			switch {
			case eof:
				end(nil)
			case errors.Is(rerr, io.ErrUnexpectedEOF):
				end(func(line int64) string {
					return fmt.Sprintf("input ends unexpectedly (truncated?) at line %d, decompressed byte %d; kept everything before, dropped %d bytes of an incomplete line", line, at, dropped)
				})
			default:
				end(func(line int64) string { return readError(line, at, dropped, rerr) })
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// readError says why reading an input stopped at line, byte at.
func readError(line, at int64, dropped int, err error) string {
	return fmt.Sprintf("read error at line %d (decompressed byte %d): %v; %d bytes of an incomplete line dropped", line, at, err, dropped)
}

// work parses chunks into the worker's partial aggregate.
func work(p *partial, jobs <-chan *job, pool *bufferPool, opts *Options) {
	var parser Parser
	var ev Event
	var scratch []byte
	var fans fanWorker
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !opts.Since.IsZero() {
		since = opts.Since.UnixNano()
	}
	if !opts.Until.IsZero() {
		until = opts.Until.UnixNano()
	}
	filter := !opts.Filter.empty()
	// The last chunk's counts size the next chunk's slices: grown from
	// nothing, each took a dozen doublings and copies per chunk.
	var nIntervals, nFan int
	for j := range jobs {
		res := &chunkResult{intervals: make([]interval, 0, nIntervals+nIntervals/8), fanout: make([]fanEvent, 0, nFan+nFan/8)}
		data := j.data
		lineNo := int64(1)
		for len(data) > 0 {
			res.lines++
			lineNo++
			var line []byte
			if i := parser.cut(data); i < len(data) {
				line, data = data[:i], data[i+1:]
			} else {
				line, data = data, nil
			}
			if len(line) > int(opts.MaxLine) {
				// Fits in a chunk, yet past the maximum: skipped as
				// readChunks skips longer ones.
				res.malformed++
				if len(res.examples) < maxMalformedExamples {
					res.examples = append(res.examples, Malformed{File: j.name, Line: lineNo - 1,
						Error: fmt.Sprintf("line of %d bytes: %v; skipped", len(line), &sizelimit.Error{Limit: "line", Max: opts.MaxLine})})
				}
				continue
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if err := parser.parseCut(line, &ev); err != nil {
				res.malformed++
				if len(res.examples) < maxMalformedExamples {
					res.examples = append(res.examples, Malformed{File: j.name, Line: lineNo - 1, Error: err.Error()})
				}
				continue
			}
			p.events++
			switch string(ev.Stage) {
			case "ResponseComplete":
				p.complete++
			case "Panic":
				p.countStage(ev.Stage)
			default:
				p.countStage(ev.Stage)
				continue
			}
			if ev.StageTime == 0 {
				p.untimed++
				continue
			}
			if ev.StageTime < since || ev.StageTime >= until {
				p.filtered++
				continue
			}
			// Forensics needs only the stage time; load needs both.
			if opts.Deleted != nil && opts.Deleted.matches(&ev) {
				res.deletions = append(res.deletions, newDeletion(&ev))
			}
			if opts.Outside != nil {
				p.outside.add(&ev, opts.Outside)
			}
			if ev.Received == 0 {
				p.untimed++
				continue
			}
			if filter && !opts.Filter.match(&ev, scratch) {
				p.filtered++
				continue
			}
			if ev.Code == 0 && string(ev.Stage) == "Panic" {
				ev.Code = 500
			}
			long := isLongRunning(ev.Verb, ev.Subresource)
			a := p.add(&ev, long)
			if !long {
				iv := interval{user: a.user, start: ev.Received, end: ev.StageTime}
				if opts.vrs != nil {
					iv.vr = a.vr.flightID(opts.vrs)
				}
				res.intervals = append(res.intervals, iv)
				if fe, ok := fans.event(&ev, a, opts.fans); ok {
					res.fanout = append(res.fanout, fe)
				}
				res.requests++
				res.queryNanos += max(ev.StageTime-ev.Received, 0)
			}
			// The log covers stage times; a watch's start may be hours earlier.
			if p.minT == 0 || ev.StageTime < p.minT {
				p.minT = ev.StageTime
			}
			if ev.StageTime > p.maxT {
				p.maxT = ev.StageTime
			}
		}
		nIntervals, nFan = len(res.intervals), len(res.fanout)
		pool.put(j.buf)
		j.done <- res
	}
}

// stream is one input as seen by the merger.
type stream struct {
	in      Input
	firstT  int64
	order   chan *job
	started bool
	done    bool
	cur     []interval
	summary InputSummary
}

// consumer merges the per-input results in time order and runs the sweep.
type consumer struct {
	sweep     *sweep
	malformed []Malformed
	nMalform  int64
	deletions []Deletion
	inputs    []InputSummary
	fan       *fanCorrelator
}

// fill makes s.cur non-empty or marks s done.
func (c *consumer) fill(ctx context.Context, s *stream) error {
	for len(s.cur) == 0 && !s.done {
		var j *job
		var ok bool
		select {
		case j, ok = <-s.order:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			s.done = true
			break
		}
		if j.end {
			if j.truncated != nil && s.summary.Truncated == "" {
				s.summary.Truncated = j.truncated(s.summary.Lines + 1)
			}
			continue
		}
		res := <-j.done
		before := s.summary.Lines // lines of the input's chunks before this one
		s.summary.Lines += res.lines
		s.summary.Malformed += res.malformed
		s.summary.Requests += res.requests
		s.summary.QuerySeconds += float64(res.queryNanos) / 1e9
		c.nMalform += res.malformed
		for _, m := range res.examples {
			if len(c.malformed) < maxMalformedExamples {
				m.Line += before
				c.malformed = append(c.malformed, m)
			}
		}
		c.deletions = append(c.deletions, res.deletions...)
		c.fan.add(res.fanout)
		s.cur = res.intervals
	}
	if s.done {
		s.summary.Name = s.in.Name
		c.inputs = append(c.inputs, s.summary)
	}
	return nil
}

// merge feeds intervals to the sweep in end-time order across inputs. An
// input is merged only when the merge reaches the time of its first event, so
// rotated logs are merged one after the other while logs of several API
// servers covering the same hours are merged together. The input after the
// last one started is read ahead (start is idempotent): its reader inflates
// and the workers parse its first chunks, as many as its order channel
// holds, while the inputs before it are merged, so a rotated file is ready
// when the merge reaches it.
func (c *consumer) merge(ctx context.Context, streams []*stream, start func(*stream), progress func()) error {
	next := 0 // first stream not started
	var active []*stream
	for {
		// Start every stream whose first event is not later than the
		// earliest head among active ones (or any stream when none is active).
		for next < len(streams) {
			s := streams[next]
			if len(active) > 0 && s.firstT != 0 {
				earliest := int64(math.MaxInt64)
				for _, a := range active {
					if len(a.cur) > 0 && a.cur[0].end < earliest {
						earliest = a.cur[0].end
					}
				}
				if s.firstT > earliest {
					break
				}
			}
			start(s)
			if next+1 < len(streams) {
				start(streams[next+1])
			}
			if err := c.fill(ctx, s); err != nil {
				return err
			}
			next++
			if !s.done {
				active = append(active, s)
			}
		}
		if len(active) == 0 {
			if next == len(streams) {
				return nil
			}
			continue
		}
		// The stream with the earliest head, and the bound up to which it
		// can be fed without overtaking another.
		best, bound := -1, int64(math.MaxInt64)
		for i, a := range active {
			h := a.cur[0].end
			if best < 0 || h < active[best].cur[0].end {
				if best >= 0 {
					bound = min(bound, active[best].cur[0].end)
				}
				best = i
			} else {
				bound = min(bound, h)
			}
		}
		if next < len(streams) && streams[next].firstT != 0 {
			bound = min(bound, streams[next].firstT)
		}
		s := active[best]
		n := 1
		for n < len(s.cur) && s.cur[n].end <= bound {
			n++
		}
		for _, iv := range s.cur[:n] {
			c.sweep.add(iv)
		}
		c.fan.advance(s.cur[n-1].end)
		s.cur = s.cur[n:]
		if len(s.cur) == 0 {
			if err := c.fill(ctx, s); err != nil {
				return err
			}
			progress()
			if s.done {
				active = append(active[:best], active[best+1:]...)
			}
		}
	}
}

// bufferPool recycles chunk buffers. Unlike sync.Pool it keeps them across
// garbage collections: fresh megabyte buffers cost page faults and zeroing,
// which showed up as a third of the CPU time.
type bufferPool struct {
	size int
	free chan *[]byte
}

func newBufferPool(size int) *bufferPool {
	return &bufferPool{size: size, free: make(chan *[]byte, 64)}
}

func (p *bufferPool) get() *[]byte {
	select {
	case b := <-p.free:
		return b
	default:
		b := make([]byte, p.size)
		return &b
	}
}

func (p *bufferPool) put(b *[]byte) {
	if cap(*b) > 4*p.size {
		return // grown for a huge line: let it go
	}
	select {
	case p.free <- b:
	default:
	}
}
