package cli

import (
	"bytes"
	"os"
	"testing"

	"github.com/premortem/premortem/internal/golden"
)

// exampleHTML is the HTML report the README links: scan -o html of the
// example snapshot.
const exampleHTML = "examples/incidents.html"

// TestExampleHTML fails when examples/incidents.html is not what scan -o
// html of examples/incidents.json.gz prints today. make examples rewrites
// both; the page alone: go test ./internal/cli -run TestExampleHTML -update.
func TestExampleHTML(t *testing.T) {
	// From the repository's root, so the page names its source as a
	// reader of the repository sees it.
	t.Chdir("../..")
	code, out, errOut := runCLI("scan", "--snapshot", "examples/incidents.json.gz", "-o", "html")
	if code != ExitFindings && code != ExitIncomplete {
		t.Fatalf("exit %d, want findings:\n%s", code, errOut)
	}
	if golden.Update() {
		if err := writeExample(exampleHTML, []byte(out)); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(exampleHTML)
	if err != nil {
		t.Fatalf("%v (make examples writes it)", err)
	}
	if !bytes.Equal(want, []byte(out)) {
		t.Errorf("%s is stale: it is not what scan -o html of examples/incidents.json.gz prints (make examples, or go test ./internal/cli -run TestExampleHTML -update, rewrites it)", exampleHTML)
	}
}

// writeExample replaces path through a temporary file and a rename.
func writeExample(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
