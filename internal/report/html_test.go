package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
)

// The HTML report is one file to attach to a ticket: nothing in it loads
// from anywhere, and what the cluster wrote is text, never markup.
func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	evil := `web"><script>alert(1)</script><img src=x onerror=alert(2)>` + "\x1b[2J\u202e"
	r := &check.Result{
		Findings: []check.Finding{{
			ID: "some-check", Severity: check.High, Title: "title " + evil, Message: "message " + evil,
			Objects:     []check.Object{{Kind: "Pod", Namespace: "default", Name: evil}},
			Evidence:    map[string]any{"userAgent": evil},
			Incidents:   []string{"001", "no-such-incident" + evil},
			Remediation: "remediation " + evil,
		}},
		Ran: []string{"some-check"},
	}
	r.Info.Source = "live:" + evil
	var b bytes.Buffer
	if err := Write(&b, "html", r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<embed", "<link", "@import", "url(", "@font-face", "\x1b", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `\x1b[2J\u202e`,
		`<a href="https://wikitech.wikimedia.org/wiki/Incidents/2024-10-09_calico-codfw">`, "not in premortem's incident table"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Every link is to an incident's write-up, for a person to follow.
	if n, m := strings.Count(out, "href="), strings.Count(out, `href="#`)+strings.Count(out, `href="https://`); n != m {
		t.Errorf("%d links, %d of them in-page or to a write-up", n, m)
	}
}
