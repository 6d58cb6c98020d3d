package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// Names and messages come from the cluster: a user agent or object name
// that carries a newline or an escape sequence must not forge a row or
// rewrite the terminal.
func TestTextFormatsEscapeClusterData(t *testing.T) {
	evil := "web\n| CRITICAL | forged | row |\x1b[2J\x1b]0;owned\x07"
	r := &check.Result{
		Findings: []check.Finding{{
			ID: "some-check", Severity: check.High, Title: "title " + evil, Message: "message " + evil,
			Objects:   []check.Object{{Kind: "Pod", Namespace: "default", Name: evil}},
			Evidence:  map[string]any{"userAgent": evil},
			Incidents: []string{"001"},
		}},
		Ran: []string{"some-check"},
	}
	for _, format := range []string{"table", "markdown"} {
		var b bytes.Buffer
		if err := Write(&b, format, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for i := 0; i < len(out); i++ {
			if c := out[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				t.Errorf("%s: control byte %#x at %d in output:\n%s", format, c, i, out)
				break
			}
		}
		if strings.Contains(out, "\n| CRITICAL | forged") {
			t.Errorf("%s: a forged row starts a line:\n%s", format, out)
		}
	}
}
