package output

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"unicode/utf8"
)

const tableText = "SEVERITY\tCHECK\tOBJECT\tFINDING\tINCIDENT\n" +
	"CRITICAL\twebhook-backend-down\tValidatingWebhookConfiguration adm-csr-validator +1 more\tWebhook csr.policy.adm.example.org: Service adm-policy/policy-webhook has no ready endpoint\t101,104\n" +
	"\ttypha-replicas\tDeployment kube-system/calico-typha\tTypha kube-system/calico-typha: 1 replica(s) for 13 nodes (want 3)\t\n" +
	"HIGH\tnode-not-ready\tNode lab-node-7\t1 node: container runtime not ready (8% of nodes)\t004\n"

func render(t *testing.T, d Display, text string) string {
	t.Helper()
	var b bytes.Buffer
	tw := NewTable(&b, d, 2).Shrink(3, 2).Drop(4).Paint(0, SeverityStyle)
	tw.Write([]byte(text))
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Piped, a Table is text/tabwriter: the output of every verb stays byte
// for byte what it was.
func TestTablePipedIsTabwriter(t *testing.T) {
	for _, d := range []Display{{}, {Full: true}, {Height: 10, All: true}} {
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
		tw.Write([]byte(tableText))
		tw.Flush()
		if got := render(t, d, tableText); got != want.String() {
			t.Errorf("%+v:\n%s\nwant\n%s", d, got, want.String())
		}
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func TestTableFitsWidth(t *testing.T) {
	tests := []struct {
		width    int
		incident bool // the dropped column is shown
	}{
		{40, false}, {80, false}, {120, true}, {400, true},
	}
	for _, tt := range tests {
		for _, color := range []bool{false, true} {
			got := render(t, Display{Width: tt.width, Color: color}, tableText)
			if strings.Contains(got, "\x1b") != color {
				t.Errorf("width %d, color %v: escape sequences %v:\n%s", tt.width, color, !color, got)
			}
			plain := sgr.ReplaceAllString(got, "")
			lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("width %d: %d lines, want 4:\n%s", tt.width, len(lines), plain)
			}
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > tt.width {
					t.Errorf("width %d: a line of %d:\n%s", tt.width, n, l)
				}
				if strings.HasSuffix(l, " ") {
					t.Errorf("width %d: trailing spaces: %q", tt.width, l)
				}
			}
			if strings.Contains(lines[0], "INCIDENT") != tt.incident {
				t.Errorf("width %d: INCIDENT shown %v, want %v:\n%s", tt.width, !tt.incident, tt.incident, plain)
			}
			// Columns stay aligned: every row's CHECK starts under the header's.
			col := strings.Index(lines[0], "CHECK")
			for _, l := range lines[1:] {
				if l[col-2:col] != "  " || l[col] == ' ' {
					t.Errorf("width %d: misaligned at %d:\n%s\n%s", tt.width, col, lines[0], l)
				}
			}
			if tt.width < 400 && !strings.Contains(plain, "…") {
				t.Errorf("width %d: nothing cut with an ellipsis:\n%s", tt.width, plain)
			}
		}
	}
}

// Full (-o wide) never cuts, whatever the width.
func TestTableFull(t *testing.T) {
	got := render(t, Display{Width: 40, Full: true, Color: true}, tableText)
	plain := sgr.ReplaceAllString(got, "")
	if strings.Contains(plain, "…") || !strings.Contains(plain, "(want 3)") || !strings.Contains(plain, "INCIDENT") {
		t.Errorf("cut:\n%s", plain)
	}
	if !strings.Contains(got, "\x1b[1;31mCRITICAL\x1b[0m") {
		t.Errorf("CRITICAL not painted:\n%q", got)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s, indent string
		width     int
		want      string
	}{
		{"one two three", "", 80, "one two three"},
		{"one two three", "", 7, "one two\nthree"},
		{"  HIGH 2: a, b, c", "          ", 12, "  HIGH 2: a,\n          b,\n          c"},
		{"averyveryverylongword x", "", 5, "averyveryverylongword\nx"},
	}
	for _, tt := range tests {
		if got := Wrap(tt.s, tt.width, tt.indent); got != tt.want {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
}

func TestDisplayWriter(t *testing.T) {
	var b bytes.Buffer
	if w := WithDisplay(&b, Display{}); w != &b {
		t.Errorf("the zero Display wraps the writer")
	}
	d := Display{Width: 80, Height: 24, Color: true}
	w := WithDisplay(&b, d)
	if got := DisplayOf(w); got != d {
		t.Errorf("DisplayOf = %+v, want %+v", got, d)
	}
	if got := DisplayOf(WithDisplay(w, Display{All: true})); got != (Display{All: true}) {
		t.Errorf("rewrapped: %+v", got)
	}
	var seen Display
	ws := Writers[int]{{Format: "table", Write: nil}, Wide(func(w2 io.Writer, _ int) error { seen = DisplayOf(w2); return nil })}
	if err := ws.Write(w, "wide", 0); err != nil {
		t.Fatal(err)
	}
	if seen != (Display{Height: 24, Color: true, Full: true}) {
		t.Errorf("wide: %+v", seen)
	}
}

func TestWithColor(t *testing.T) {
	for _, tt := range []struct {
		in   bool
		mode string
		want bool
	}{
		{true, "auto", true}, {false, "auto", false}, {false, "always", true}, {true, "never", false},
	} {
		got, err := Display{Color: tt.in}.WithColor(tt.mode)
		if err != nil || got.Color != tt.want {
			t.Errorf("%v, %s: %v, %v", tt.in, tt.mode, got.Color, err)
		}
	}
	if _, err := (Display{}).WithColor("sometimes"); err == nil {
		t.Error("--color sometimes accepted")
	}
}
