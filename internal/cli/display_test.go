package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/output"
)

// runOn runs premortem with stdout laid out as d (a terminal of d's size
// when d.Width is set).
func runOn(d output.Display, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Display: d})
	return code, out.String(), errOut.String()
}

// TestScanDisplayGolden: the scan table as a terminal shows it (fitted to
// its width, counts first when it does not fit one screen, colored), with
// -o wide and with --all (-update rewrites testdata/scan/*.golden).
func TestScanDisplayGolden(t *testing.T) {
	const lab = "testdata/scan/lab.json.gz"
	tests := []struct {
		name string
		d    output.Display
		args []string
	}{
		{"lab.wide", output.Display{}, []string{"scan", "--snapshot", lab, "-o", "wide"}},
		{"lab.all", output.Display{}, []string{"scan", "--snapshot", lab, "--all"}},
		{"lab.width-100", output.Display{Width: 100, Height: 200}, []string{"scan", "--snapshot", lab}},
		{"lab.summary-120x40", output.Display{Width: 120, Height: 40}, []string{"scan", "--snapshot", lab}},
		{"lab.wide-summary-80x40", output.Display{Width: 80, Height: 40}, []string{"scan", "--snapshot", lab, "-o", "wide"}},
		{"lab.color", output.Display{Width: 160, Height: 40, Color: true}, []string{"scan", "--snapshot", lab, "--only", "node-not-ready,node-version-drift,typha-replicas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runOn(tt.d, tt.args...)
			got := fmt.Sprintf("$ premortem %s (display %+v)\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tt.args, " "), tt.d, code, stdout, stderr)
			golden.Check(t, filepath.Join("testdata", "scan", tt.name+".golden"), []byte(got))
		})
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// columnGap is two spaces between words: a table row. Prose (audit's
// notes, say) has single spaces, or aligns after a label's colon, and
// wraps as the terminal wraps it.
var columnGap = regexp.MustCompile(`[^\s:] {2,}\S`)

// Every verb's table fits the terminal: no table row of stdout is wider
// than the Display, whose width stands for the terminal's; scan's output
// fits whole. Only severities are painted.
func TestTablesFitTerminal(t *testing.T) {
	commands := []struct {
		args         []string
		whole, color bool
	}{
		{[]string{"scan", "--snapshot", "testdata/scan/lab.json.gz"}, true, true},
		{[]string{"scan", "--snapshot", "testdata/scan/lab.json.gz", "--all"}, true, true},
		{[]string{"checks", "list"}, true, true},
		{[]string{"refs", "--snapshot", "testdata/refs/dump.yaml", "k8s-master.tools.example.org"}, false, false},
		{[]string{"audit", "../audit/testdata/load.log"}, false, false},
		{[]string{"audit", "../audit/testdata/incident004.log", "--deleted", "namespace/team-a"}, false, false},
	}
	for _, width := range []int{80, 100, 200} {
		for _, c := range commands {
			for _, color := range []bool{false, true} {
				code, stdout, stderr := runOn(output.Display{Width: width, Height: 50, Color: color}, c.args...)
				if code == ExitError {
					t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
				}
				if strings.Contains(stdout, "\x1b") != (color && c.color) {
					t.Errorf("%v, width %d: escape sequences %v, want %v", c.args, width, !color, color)
				}
				for _, line := range strings.Split(sgr.ReplaceAllString(stdout, ""), "\n") {
					if n := utf8.RuneCountInString(line); n > width && (c.whole || columnGap.MatchString(line)) {
						t.Errorf("%v, width %d: a line of %d:\n%s", c.args, width, n, line)
					}
				}
			}
		}
	}
}

// --color always colors a pipe, --color never a terminal; piped, a table
// is never cut.
func TestColorFlag(t *testing.T) {
	args := []string{"scan", "--snapshot", "testdata/scan/lab.json.gz", "--only", "typha-replicas"}
	for _, tt := range []struct {
		d     output.Display
		flag  string
		color bool
	}{
		{output.Display{}, "auto", false},
		{output.Display{}, "always", true},
		{output.Display{Width: 80, Color: true}, "auto", true},
		{output.Display{Width: 80, Color: true}, "never", false},
	} {
		_, stdout, _ := runOn(tt.d, append([]string{"--color", tt.flag}, args...)...)
		if got := strings.Contains(stdout, "\x1b[1;31mCRITICAL\x1b[0m") || strings.Contains(stdout, "\x1b[31mHIGH\x1b[0m"); got != tt.color {
			t.Errorf("%+v --color %s: colored %v, want %v:\n%q", tt.d, tt.flag, got, tt.color, stdout)
		}
	}
	code, _, stderr := runOn(output.Display{}, append([]string{"--color", "sometimes"}, args...)...)
	if want := "premortem: --color \"sometimes\": want auto, always or never\n"; code != ExitError || stderr != want {
		t.Errorf("--color sometimes: exit %d, %q; want 2, %q", code, stderr, want)
	}
}
