package terminal_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// The repository's root, from this package's directory.
const root = "../../.."

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// premortem builds the binary once per run.
func premortem(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "premortem-terminal")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "premortem")
		if out, err := exec.Command("go", "build", "-o", binary, "github.com/premortem/premortem/cmd/premortem").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// needTmux skips the test when tmux is absent, and says how to get it.
func needTmux(t *testing.T) string {
	t.Helper()
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
	path, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (apt-get install tmux; .ci/run installs it): the terminal tests need a real terminal")
	}
	return path
}

// screen is one run of a command in a tmux window.
type screen struct {
	// Text is the window's whole history and screen once the command
	// ended, wrapped lines joined (capture-pane -J): a line longer than the
	// window is a line the terminal wrapped.
	Text string
	// Styled is the same with the escape sequences of its colors and
	// attributes (capture-pane -e).
	Styled string
	// Raw is every byte the command wrote to the terminal (pipe-pane).
	Raw string
}

// run runs premortem with args in a detached tmux window of width x
// height cells, with env added to its environment, and returns what the
// window shows once it has ended.
func run(t *testing.T, width, height int, env []string, args ...string) screen {
	t.Helper()
	tmux := needTmux(t)
	bin := premortem(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "tmux.sock")
	ready, raw := filepath.Join(dir, "ready"), filepath.Join(dir, "raw")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, tmux, append([]string{"-S", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	defer exec.Command(tmux, "-S", socket, "kill-server").Run()

	quoted := []string{shellQuote(bin)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	// The command waits until pipe-pane records, and the window stays
	// open after it so that it can be captured.
	script := fmt.Sprintf("while [ ! -e %s ]; do sleep 0.05; done; %s; echo; echo __END__ $?; sleep 600",
		shellQuote(ready), strings.Join(quoted, " "))
	newSession := []string{"new-session", "-d", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "-c", root}
	for _, e := range append([]string{"TERM=xterm-256color"}, env...) {
		newSession = append(newSession, "-e", e)
	}
	tm(append(newSession, "sh", "-c", script)...)
	tm("pipe-pane", "-o", "cat >> "+shellQuote(raw))
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var s screen
	end := regexp.MustCompile(`(?m)^__END__ (\d+)$`)
	for {
		s.Text = tm("capture-pane", "-p", "-J", "-S", "-")
		if end.MatchString(s.Text) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("premortem %s did not end in the terminal:\n%s", strings.Join(args, " "), s.Text)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.Styled = tm("capture-pane", "-p", "-J", "-e", "-S", "-")
	tm("pipe-pane") // stops recording, flushing what it had
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.Raw = string(b)
	s.Text = s.Text[:end.FindStringIndex(s.Text)[0]]
	if m := end.FindStringSubmatch(s.Styled); m == nil {
		t.Fatalf("styled capture lost the end marker")
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// columnGap is two spaces between words: a table row. Prose wraps as the
// terminal wraps it (audit's notes); labels align after their colon.
var columnGap = regexp.MustCompile(`[^\s:] {2,}\S`)

// checkFits fails t for every line of s wider than width: a table row
// (or, with whole, any line) that the terminal wrapped.
func checkFits(t *testing.T, what string, s screen, width int, whole bool) {
	t.Helper()
	rows := 0
	for _, line := range strings.Split(s.Text, "\n") {
		if columnGap.MatchString(line) {
			rows++
		}
		if n := utf8.RuneCountInString(line); n > width && (whole || columnGap.MatchString(line)) {
			t.Errorf("%s at %d columns: a line of %d wrapped:\n%s", what, width, n, line)
		}
	}
	if rows < 3 {
		t.Errorf("%s at %d columns: %d table rows on the screen, want a table:\n%s", what, width, rows, s.Text)
	}
}

// TestTablesFitTerminal: every verb's table, at 80 and 200 columns; no row
// wraps. Where a row had to be cut, the cut ends in an ellipsis.
func TestTablesFitTerminal(t *testing.T) {
	kubeconfig := cluster.Kubeconfig
	manifest := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied-configuration-of-a-service-00, namespace: "+ns+", labels: {app: terminal}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		whole bool // every line fits, prose too
	}{
		{"scan", []string{"scan", "--snapshot", "examples/incidents.json.gz"}, true},
		{"scan --all", []string{"scan", "--snapshot", "examples/incidents.json.gz", "--all"}, true},
		{"checks list", []string{"checks", "list"}, true},
		{"refs", []string{"refs", "--snapshot", "internal/cli/testdata/refs/dump.yaml", "k8s-master.tools.example.org"}, false},
		{"audit", []string{"audit", "internal/audit/testdata/load.log"}, false},
		{"restart", []string{"restart", "--kubeconfig", kubeconfig, "-n", ns}, false},
		{"preflight", []string{"preflight", "apply", "--kubeconfig", kubeconfig, "-f", manifest, "--prune", "-l", "app=terminal"}, false},
	}
	// The control: -o wide is not fitted, and its rows wrap at 80 columns;
	// capture-pane -J joins them again, which is how a wrap is seen.
	t.Run("wide wraps/80", func(t *testing.T) {
		s := run(t, 80, 50, nil, "scan", "--snapshot", "examples/incidents.json.gz", "-o", "wide")
		longest := 0
		for _, line := range strings.Split(s.Text, "\n") {
			longest = max(longest, utf8.RuneCountInString(line))
		}
		if longest <= 80 {
			t.Errorf("-o wide at 80 columns: the longest line is %d; a wrapped row is not seen:\n%s", longest, s.Text)
		}
	})
	for _, width := range []int{80, 200} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", tt.name, width), func(t *testing.T) {
				s := run(t, width, 50, nil, tt.args...)
				checkFits(t, tt.name, s, width, tt.whole)
				if width == 80 && tt.name == "scan" && !strings.Contains(s.Text, "…") {
					t.Errorf("scan at 80 columns cut nothing:\n%s", s.Text)
				}
			})
		}
	}
}

// sgr is an escape sequence that sets colors or attributes.
var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// TestNoColor: a terminal shows severities in color, unless NO_COLOR is
// set (no-color.org) or --color never is passed.
func TestNoColor(t *testing.T) {
	args := []string{"scan", "--snapshot", "examples/incidents.json.gz"}
	for _, tt := range []struct {
		name  string
		env   []string
		args  []string
		color bool
	}{
		{"terminal", nil, args, true},
		{"NO_COLOR", []string{"NO_COLOR=1"}, args, false},
		{"--color never", nil, append([]string{"--color", "never"}, args...), false},
		{"NO_COLOR --color always", []string{"NO_COLOR=1"}, append([]string{"--color", "always"}, args...), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, 200, 50, tt.env, tt.args...)
			if got := sgr.MatchString(s.Styled); got != tt.color {
				t.Errorf("colors on the screen: %v, want %v:\n%q", got, tt.color, s.Styled)
			}
			if !tt.color && strings.Contains(s.Raw, "\x1b") {
				i := strings.Index(s.Raw, "\x1b")
				t.Errorf("an escape sequence written with color off: %q", s.Raw[max(i-20, 0):min(i+20, len(s.Raw))])
			}
			checkFits(t, tt.name, s, 200, true)
		})
	}
}

// drawn is one draw of the live read's progress line: kinds done, kinds.
var drawn = regexp.MustCompile(`\rreading: (\d+)/(\d+) kinds`)

// TestProgress: a live read draws its progress line on the terminal,
// redraws it in place (carriage returns, no new line), and erases it when
// the read ends: the screen then shows the table and no trace of it.
func TestProgress(t *testing.T) {
	for _, width := range []int{80, 200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			s := run(t, width, 50, []string{"NO_COLOR=1"}, "scan", "--kubeconfig", cluster.Kubeconfig)
			draws := strings.Count(s.Raw, "\rreading: ")
			t.Logf("%d progress draws in %d bytes written to the terminal", draws, len(s.Raw))
			partial := false
			for _, m := range drawn.FindAllStringSubmatch(s.Raw, -1) {
				partial = partial || m[1] != m[2]
			}
			if !partial {
				t.Errorf("no progress drawn while reading, only when done:\n%q", s.Raw)
			}
			if draws < 2 {
				t.Fatalf("%d progress draws, want at least 2 (one while reading, the final one):\n%q", draws, s.Raw)
			}
			first := strings.Index(s.Raw, "\rreading: ")
			erase := strings.LastIndex(s.Raw, "\r\x1b[K")
			if erase < first {
				t.Fatalf("the progress line is never erased:\n%q", s.Raw)
			}
			if between := s.Raw[first:erase]; strings.Contains(between, "\n") {
				t.Errorf("the progress line moved down a line instead of redrawing in place:\n%q", between)
			}
			if strings.LastIndex(s.Raw, "\rreading: ") > erase {
				t.Errorf("drawn again after it was erased:\n%q", s.Raw)
			}
			if strings.Contains(s.Text, "reading:") {
				t.Errorf("the progress line is still on the screen:\n%s", s.Text)
			}
			if !strings.Contains(s.Text, "from ") || !strings.Contains(s.Text, "checks") {
				t.Errorf("no scan verdict on the screen:\n%s", s.Text)
			}
		})
	}
}
