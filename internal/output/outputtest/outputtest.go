// Package outputtest holds the one test of terminal safety every text
// writer's tests use: what output.Text promises, checked on real output.
package outputtest

import (
	"strings"
	"testing"
)

// Evil is cluster or log data that tries to forge a table row and to
// rewrite the terminal (clear the screen, set the window title).
const Evil = "web\n| forged | row |\x1b[2J\x1b]0;owned\x07"

// CheckEscaped fails t unless out shows the escape sequence of Evil as
// text, holds no control byte but newlines, and starts no line with
// forged (the forged row or line the test's data tried to start).
func CheckEscaped(t testing.TB, what, out, forged string) {
	t.Helper()
	if !strings.Contains(out, `\x1b[2J`) {
		t.Fatalf("%s: the data is not in the output, escaped:\n%s", what, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("%s: control byte %#x at %d:\n%q", what, c, i, out)
		}
	}
	if strings.Contains(out, "\n"+forged) {
		t.Errorf("%s: a forged line starts with %q:\n%s", what, forged, out)
	}
}
