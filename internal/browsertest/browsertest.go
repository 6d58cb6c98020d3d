// Package browsertest renders HTML files in Debian's headless Chromium, as a
// person would open them, for tests: a screenshot at a given window width
// and whether anything sticks out past the right edge (the document's
// scroll width against its client width).
//
// Chromium is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: no port, no websocket): headless Chromium will
// not make a window narrower than 500 px, so phone widths are set with
// Emulation.setDeviceMetricsOverride, which also makes the full-page
// screenshot.
package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Path is where Debian's chromium package puts the browser.
const Path = "/usr/bin/chromium"

// Timeout bounds one Render: start, load, measure, screenshot.
const Timeout = 90 * time.Second

// maxMessage bounds one DevTools message; a screenshot is the largest.
const maxMessage = 256 << 20

// maxShotHeight is the tallest screenshot taken (Chromium's largest
// texture); a taller page is taken in up to maxShots tiles.
const (
	maxShotHeight = 16384
	maxShots      = 8
)

// Need skips t, saying why, when Chromium is not installed; it returns the
// browser's path.
func Need(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skipf("no headless browser: %s is missing (apt-get install chromium; .ci/run installs it): %v", Path, err)
	}
	return Path
}

// Page is what Render saw of one page at one width.
type Page struct {
	Width int
	// ScrollWidth and ClientWidth are the document element's: when the
	// first is larger, the page scrolls sideways.
	ScrollWidth, ClientWidth int
	// Height is the laid-out page's height in CSS pixels.
	Height int
	// Overflowing names the first elements whose right edge lies past the
	// window's and that no scrolling box of their own clips.
	Overflowing []string
	// Screenshot is the PNG written; a page taller than 16,384 px is
	// taken in tiles, Screenshot then NAME-2.png and on (Screenshots).
	Screenshot  string
	Screenshots []string
}

// Overflows reports whether the page is wider than the window.
func (p Page) Overflows() bool { return p.ScrollWidth > p.ClientWidth }

func (p Page) String() string {
	s := fmt.Sprintf("%d px: scrollWidth %d, clientWidth %d, height %d, screenshots %s", p.Width, p.ScrollWidth, p.ClientWidth, p.Height, strings.Join(p.Screenshots, " "))
	if len(p.Overflowing) > 0 {
		s += "; sticking out: " + strings.Join(p.Overflowing, "; ")
	}
	return s
}

// Render opens the HTML file at a window width CSS pixels wide (height
// 900), measures it, and writes a full-page screenshot to png.
func Render(ctx context.Context, file string, width int, png string) (Page, error) {
	return RenderMedia(ctx, file, width, png, "")
}

// RenderMedia is Render with the CSS media type emulated: "print" lays
// the page out as for a printer (a page of A4 is about 800 px wide), ""
// as for a screen.
func RenderMedia(ctx context.Context, file string, width int, png, media string) (Page, error) {
	page := Page{Width: width, Screenshot: png}
	abs, err := filepath.Abs(file)
	if err != nil {
		return page, err
	}
	if _, err := os.Stat(abs); err != nil {
		return page, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	b, err := start(ctx)
	if err != nil {
		return page, err
	}
	defer b.close()

	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return page, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return page, err
	}
	s := attached.SessionID
	metrics := func(height int) error {
		return b.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	}
	if err := metrics(900); err != nil {
		return page, err
	}
	if err := b.call(ctx, s, "Emulation.setEmulatedMedia", map[string]any{"media": media}, nil); err != nil {
		return page, err
	}
	if err := b.call(ctx, s, "Page.enable", nil, nil); err != nil {
		return page, err
	}
	b.seen = nil // a load of about:blank is not the one awaited
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.call(ctx, s, "Page.navigate", map[string]any{"url": "file://" + abs}, &nav); err != nil {
		return page, err
	}
	if nav.ErrorText != "" {
		return page, fmt.Errorf("open %s: %s", abs, nav.ErrorText)
	}
	if err := b.wait(ctx, s, "Page.loadEventFired"); err != nil {
		return page, err
	}
	var eval struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := b.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": measure, "returnByValue": true}, &eval); err != nil {
		return page, err
	}
	if len(eval.ExceptionDetails) > 0 {
		return page, fmt.Errorf("measure: %s", eval.ExceptionDetails)
	}
	if err := json.Unmarshal([]byte(eval.Result.Value), &page); err != nil {
		return page, fmt.Errorf("measure: %w (%q)", err, eval.Result.Value)
	}
	page.Width, page.Screenshot = width, png

	// The whole page: a window as tall as the page, or as Chromium's
	// largest picture, in tiles down the page.
	h := min(max(page.Height, 1), maxShotHeight)
	if err := metrics(h); err != nil {
		return page, err
	}
	for y := 0; y < max(page.Height, 1) && len(page.Screenshots) < maxShots; y += maxShotHeight {
		var shot struct {
			Data string `json:"data"`
		}
		th := min(max(page.Height-y, 1), maxShotHeight)
		if err := b.call(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
			"clip": map[string]any{"x": 0, "y": y, "width": width, "height": th, "scale": 1}}, &shot); err != nil {
			return page, err
		}
		data, err := base64.StdEncoding.DecodeString(shot.Data)
		if err != nil {
			return page, fmt.Errorf("screenshot: %w", err)
		}
		name := png
		if n := len(page.Screenshots); n > 0 {
			name = strings.TrimSuffix(png, ".png") + fmt.Sprintf("-%d.png", n+1)
		}
		if err := writeFile(name, data); err != nil {
			return page, err
		}
		page.Screenshots = append(page.Screenshots, name)
	}
	return page, nil
}

// measure runs in the page: the document's widths and height, and the
// elements that stick out past the right edge without a scrolling or
// clipping box of their own around them.
const measure = `(() => {
  const d = document.documentElement, cw = d.clientWidth, out = [];
  const clipped = (e) => {
    for (let a = e.parentElement; a && a !== d && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const e of document.body.querySelectorAll('*')) {
    if (out.length >= 8) break;
    const r = e.getBoundingClientRect();
    if (r.right > cw + 0.5 && !clipped(e)) {
      let name = e.tagName.toLowerCase();
      if (e.id) name += '#' + e.id;
      if (e.className && typeof e.className === 'string') name += '.' + e.className.trim().split(/\s+/).join('.');
      out.push(name + ' (right edge ' + Math.round(r.right) + ' px): ' + (e.textContent || '').trim().slice(0, 60));
    }
  }
  return JSON.stringify({ScrollWidth: d.scrollWidth, ClientWidth: cw, Height: Math.ceil(d.scrollHeight), Overflowing: out});
})()`

// writeFile writes through a temporary file and a rename.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".shot-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone already once renamed
	_, err = tmp.Write(data)
	if err = errors.Join(err, tmp.Chmod(0o644), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// browser is one headless Chromium and its DevTools pipe.
type browser struct {
	cmd     *exec.Cmd
	profile string
	w       io.WriteCloser
	msgs    chan message
	id      int
	stderr  *tailBuffer
	// seen are events that arrived while waiting for another answer.
	seen []message
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    any             `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
	err error // the pipe's, when it ends
}

func start(ctx context.Context) (*browser, error) {
	if _, err := os.Stat(Path); err != nil {
		return nil, fmt.Errorf("chromium: %w", err)
	}
	profile, err := os.MkdirTemp("", "premortem-chromium-")
	if err != nil {
		return nil, err
	}
	toBrowser, cmdIn, err := os.Pipe() // the browser reads commands on fd 3
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	cmdOut, fromBrowser, err := os.Pipe() // and writes answers on fd 4
	if err != nil {
		toBrowser.Close()
		cmdIn.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	b := &browser{profile: profile, w: cmdIn, msgs: make(chan message, 64), stderr: &tailBuffer{max: 8 << 10}}
	// --disable-dev-shm-usage: containers often give /dev/shm 64 MB,
	// which a renderer outgrows.
	b.cmd = exec.Command(Path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage", "--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	b.cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	b.cmd.Stderr = b.stderr
	// Its own process group: close kills the renderers with the browser.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b.cmd.Env = append(os.Environ(), "HOME="+profile)
	err = b.cmd.Start()
	toBrowser.Close()
	fromBrowser.Close()
	if err != nil {
		cmdIn.Close()
		cmdOut.Close()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	go b.read(cmdOut)
	return b, nil
}

// read passes the browser's NUL-terminated messages on until the pipe ends.
func (b *browser) read(r io.ReadCloser) {
	defer r.Close()
	defer close(b.msgs)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		var buf []byte
		for {
			chunk, err := br.ReadSlice(0)
			buf = append(buf, chunk...)
			if err == bufio.ErrBufferFull && len(buf) < maxMessage {
				continue
			}
			if err != nil {
				if err == bufio.ErrBufferFull {
					err = fmt.Errorf("a DevTools message larger than %d bytes", maxMessage)
				}
				b.msgs <- message{err: err}
				return
			}
			break
		}
		var m message
		if err := json.Unmarshal(buf[:len(buf)-1], &m); err != nil {
			b.msgs <- message{err: fmt.Errorf("DevTools message: %w", err)}
			return
		}
		b.msgs <- m
	}
}

func (b *browser) next(ctx context.Context) (message, error) {
	select {
	case <-ctx.Done():
		return message{}, fmt.Errorf("chromium: %w (stderr: %s)", ctx.Err(), b.tail())
	case m, ok := <-b.msgs:
		if !ok || m.err != nil {
			err := m.err
			if err == nil || errors.Is(err, io.EOF) {
				err = errors.New("the browser closed its pipe")
			}
			return m, fmt.Errorf("chromium: %w (stderr: %s)", err, b.tail())
		}
		return m, nil
	}
}

// call sends one command and waits for its answer, keeping the events
// that come first.
func (b *browser) call(ctx context.Context, session, method string, params, result any) error {
	b.id++
	id := b.id
	req, err := json.Marshal(message{ID: id, Method: method, Params: params, SessionID: session})
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(req, 0)); err != nil {
		return fmt.Errorf("chromium: %s: %w", method, err)
	}
	for {
		m, err := b.next(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if m.ID != id {
			if m.Method != "" {
				b.seen = append(b.seen, m)
			}
			continue
		}
		if m.Error != nil {
			return fmt.Errorf("chromium: %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("chromium: %s: %w", method, err)
		}
		return nil
	}
}

// wait returns once the session has had the event.
func (b *browser) wait(ctx context.Context, session, event string) error {
	for _, m := range b.seen {
		if m.Method == event && m.SessionID == session {
			return nil
		}
	}
	for {
		m, err := b.next(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", event, err)
		}
		if m.Method == event && m.SessionID == session {
			return nil
		}
	}
}

// close asks the browser to quit, then kills its process group if it has
// not within a few seconds, and removes its profile.
func (b *browser) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	b.w.Close()
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// Renderers left behind by a browser that quit.
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	os.RemoveAll(b.profile)
}

// tail is the end of the browser's stderr, for errors.
func (b *browser) tail() string {
	s := strings.TrimSpace(b.stderr.String())
	if i := strings.LastIndex(s, "\n"); len(s) > 2000 && i > 0 {
		s = "…" + s[max(i-2000, 0):]
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (l *tailBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if over := len(l.b) - l.max; over > 0 {
		l.b = append(l.b[:0], l.b[over:]...)
	}
	return len(p), nil
}

func (l *tailBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// Fits renders file at each width and fails t when the page is wider than
// the window. It keeps the screenshots in $PREMORTEM_SCREENSHOTS when set,
// else in a directory of the test's, and logs where.
func Fits(t *testing.T, file string, widths ...int) []Page {
	t.Helper()
	Need(t)
	dir := os.Getenv("PREMORTEM_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	var pages []Page
	for _, w := range widths {
		p, err := Render(context.Background(), file, w, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)))
		if err != nil {
			t.Fatalf("%s at %d px: %v", file, w, err)
		}
		t.Logf("%s", p)
		if p.Overflows() {
			t.Errorf("%s overflows at %d px: %s", file, w, p)
		}
		pages = append(pages, p)
	}
	return pages
}
