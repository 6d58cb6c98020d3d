package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/kube"
)

// clock is a manual clock for progress tests: no test depends on how fast
// the machine runs.
type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) step(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) progress(w *bytes.Buffer, interval, delay time.Duration) *progress {
	return startProgress(w, interval, delay, c.now)
}

func TestReadProgress(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	update := readProgress(c.progress(&buf, 100*time.Millisecond, 0))
	update(kube.Progress{KindsDone: 0, KindsTotal: 3, Items: 500})
	c.step(50 * time.Millisecond)
	update(kube.Progress{KindsDone: 1, KindsTotal: 3, Items: 1000}) // within the interval: not drawn
	c.step(100 * time.Millisecond)
	update(kube.Progress{KindsDone: 2, KindsTotal: 3, Items: 1100})
	update(kube.Progress{KindsDone: 3, KindsTotal: 3, Items: 1200}) // the last is always drawn
	want := "\rreading: 0/3 kinds, 500 objects \rreading: 2/3 kinds, 1100 objects \rreading: 3/3 kinds, 1200 objects "
	if got := buf.String(); got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
}

func TestByteProgress(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	p := c.progress(&buf, 200*time.Millisecond, 500*time.Millisecond)
	update := byteProgress(p)
	update(10e6, 1e9) // before the delay: quick work stays quiet
	c.step(time.Second)
	update(250e6, 1e9)
	c.step(100 * time.Millisecond)
	update(300e6, 1e9) // within 200 ms of the last draw: skipped
	c.step(time.Second)
	update(600e6, 0) // total unknown: no bar
	p.done()
	want := "\r[=======                       ]  25% 250 MB of 1000 MB, 250 MB/s " +
		"\r600 MB read, 286 MB/s " +
		"\r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
}

func TestProgressNil(t *testing.T) {
	var p *progress // stderr is not a terminal
	p.draw(true, "x")
	p.done()
	if readProgress(p) != nil || byteProgress(p) != nil {
		t.Error("a nil progress must give nil callbacks")
	}
	if newProgress(&bytes.Buffer{}, time.Second, 0) != nil {
		t.Error("a buffer is not a terminal")
	}
}
