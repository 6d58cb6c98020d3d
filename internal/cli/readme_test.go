package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/output"
)

// The README shows the top of the example snapshot's scan on a 100-column
// terminal, between these markers.
const (
	readmeExcerptStart = "<!-- scan-excerpt: go test ./internal/cli -run TestREADMEScanExcerpt -update rewrites this block -->\n"
	readmeExcerptEnd   = "<!-- end scan-excerpt -->\n"
	readmeExcerptRows  = 14
)

// TestREADMEScanExcerpt fails when the README's excerpt of the scan table
// is not what scan prints today.
func TestREADMEScanExcerpt(t *testing.T) {
	t.Chdir("../..")
	args := []string{"scan", "--snapshot", "examples/incidents.json.gz"}
	code, out, errOut := runOn(output.Display{Width: 100, Height: 100}, args...)
	if code != ExitFindings && code != ExitIncomplete {
		t.Fatalf("exit %d, want findings:\n%s", code, errOut)
	}
	lines := strings.SplitAfter(out, "\n")
	if len(lines) <= readmeExcerptRows {
		t.Fatalf("%d lines, want more than %d:\n%s", len(lines), readmeExcerptRows, out)
	}
	block := fmt.Sprintf("```console\n$ premortem %s\n%s…\n```\n", strings.Join(args, " "), strings.Join(lines[:readmeExcerptRows], ""))
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte(readmeExcerptStart))
	end := bytes.Index(readme, []byte(readmeExcerptEnd))
	if start < 0 || end < start {
		t.Fatalf("README.md has no block between %q and %q", readmeExcerptStart, readmeExcerptEnd)
	}
	start += len(readmeExcerptStart)
	if got := string(readme[start:end]); got != block {
		if golden.Update() {
			updated := append(append(append([]byte{}, readme[:start]...), block...), readme[end:]...)
			if err := writeExample("README.md", updated); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's scan excerpt is stale (go test ./internal/cli -run TestREADMEScanExcerpt -update rewrites it):\n--- README\n%s--- scan prints\n%s", got, block)
	}
}
