package browsertest

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The harness itself: a page that fits, one that does not, at a phone
// width that headless Chromium's window cannot take by itself.
func TestRender(t *testing.T) {
	Need(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		width      int
		overflows  bool
		culprit    string
	}{
		{"fits", `<p>short text that wraps as it must at any width at all</p>`, 400, false, ""},
		{"wide-box", `<p>ok</p><div id="wide" style="width:900px">too wide</div>`, 400, true, "div#wide"},
		{"scrolls-in-its-box", `<div style="overflow-x:auto"><table><tr><td style="white-space:nowrap">` + strings.Repeat("long cell ", 80) + `</td></tr></table></div>`, 400, false, ""},
		{"fits-wide", `<div style="width:1300px">wide but within</div>`, 1400, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".html")
			page := `<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:8px}</style></head><body>` + tc.body + `</body></html>`
			if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			shot := filepath.Join(dir, tc.name+".png")
			p, err := Render(context.Background(), file, tc.width, shot)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(p)
			if p.ClientWidth != tc.width {
				t.Errorf("clientWidth = %d, want the window's %d", p.ClientWidth, tc.width)
			}
			if p.Overflows() != tc.overflows {
				t.Errorf("overflows = %v, want %v: %s", p.Overflows(), tc.overflows, p)
			}
			if tc.culprit != "" && (len(p.Overflowing) == 0 || !strings.HasPrefix(p.Overflowing[0], tc.culprit)) {
				t.Errorf("overflowing = %q, want %s first", p.Overflowing, tc.culprit)
			}
			f, err := os.Open(shot)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := png.DecodeConfig(f)
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			if cfg.Width != tc.width || cfg.Height != p.Height {
				t.Errorf("screenshot is %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.width, p.Height)
			}
		})
	}
}

// A file that is not there is an error, not a blank page that fits.
func TestRenderMissingFile(t *testing.T) {
	Need(t)
	p, err := Render(context.Background(), filepath.Join(t.TempDir(), "missing.html"), 800, filepath.Join(t.TempDir(), "x.png"))
	if err == nil {
		t.Errorf("no error: %s", p)
	}
}

// Print emulation applies the page's @media print rules.
func TestRenderPrint(t *testing.T) {
	Need(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "p.html")
	page := `<!DOCTYPE html><html><head><style>.wide{width:2000px}@media print{.wide{width:auto}}</style></head><body><div class="wide">x</div></body></html>`
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	for media, overflows := range map[string]bool{"": true, "print": false} {
		p, err := RenderMedia(context.Background(), file, 800, filepath.Join(dir, "p"+media+".png"), media)
		if err != nil {
			t.Fatal(err)
		}
		if p.Overflows() != overflows {
			t.Errorf("media %q: overflows = %v, want %v: %s", media, p.Overflows(), overflows, p)
		}
	}
}

// A page taller than Chromium's largest picture is taken in tiles.
func TestRenderTiles(t *testing.T) {
	Need(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tall.html")
	if err := os.WriteFile(file, []byte(`<!DOCTYPE html><html><body style="margin:0"><div style="height:20000px">tall</div></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Render(context.Background(), file, 600, filepath.Join(dir, "tall.png"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "tall.png"), filepath.Join(dir, "tall-2.png")}
	if len(p.Screenshots) != 2 || p.Screenshots[0] != want[0] || p.Screenshots[1] != want[1] {
		t.Fatalf("screenshots %q, want %q", p.Screenshots, want)
	}
	for i, h := range []int{16384, 20000 - 16384} {
		f, err := os.Open(p.Screenshots[i])
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 600 || cfg.Height != h {
			t.Errorf("%s: %dx%d (%v), want 600x%d", p.Screenshots[i], cfg.Width, cfg.Height, err, h)
		}
	}
}
