package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
)

// progress is the one status line every verb shows during long work: drawn
// in place on a terminal's stderr, at most once per interval, and erased by
// done so that nothing of it stays between the command and its output. A
// nil *progress (stderr is not a terminal) draws nothing.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	now      func() time.Time // injected: tests step the clock
	interval time.Duration    // least time between two draws
	delay    time.Duration    // nothing drawn this soon after start: quick work stays quiet
	start    time.Time
	last     time.Time
	drawn    bool
}

// newProgress returns a progress line on w when w is a terminal, else nil.
func newProgress(w io.Writer, interval, delay time.Duration) *progress {
	if !output.IsTerminal(w) {
		return nil
	}
	return startProgress(w, interval, delay, time.Now)
}

func startProgress(w io.Writer, interval, delay time.Duration, now func() time.Time) *progress {
	return &progress{w: w, now: now, interval: interval, delay: delay, start: now()}
}

// draw replaces the line with the formatted text, unless the last draw was
// less than the interval ago; a final state is always drawn.
func (p *progress) draw(final bool, format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !final && (now.Sub(p.last) < p.interval || now.Sub(p.start) < p.delay) {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprintf(p.w, "\r"+format+" ", args...)
}

// elapsed is the time since the line was started.
func (p *progress) elapsed() time.Duration { return p.now().Sub(p.start) }

// done erases the line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// readProgress shows how far a live read has got.
func readProgress(p *progress) func(kube.Progress) {
	if p == nil {
		return nil
	}
	return func(r kube.Progress) {
		p.draw(r.KindsDone == r.KindsTotal, "reading: %d/%d kinds, %d objects", r.KindsDone, r.KindsTotal, r.Items)
	}
}

// byteProgress shows how far reading input files has got: a bar when the
// total is known.
func byteProgress(p *progress) func(read, total int64) {
	if p == nil {
		return nil
	}
	return func(read, total int64) {
		rate := float64(read) / max(p.elapsed().Seconds(), 1e-3) / 1e6
		if total <= 0 {
			p.draw(false, "%s read, %.0f MB/s", mb(read), rate)
			return
		}
		frac := min(float64(read)/float64(total), 1)
		n := int(frac * 30)
		p.draw(false, "[%s%s] %3.0f%% %s of %s, %.0f MB/s", strings.Repeat("=", n), strings.Repeat(" ", 30-n), frac*100, mb(read), mb(total), rate)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
