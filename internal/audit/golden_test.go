package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/golden"
)

// goldenCases: internal/cli's TestAuditCommandGolden runs the same cases
// through the command line and must print the same bytes.
var goldenCases = []struct {
	Args   []string // after "audit"
	Golden string
}{
	{[]string{"testdata/load.log"}, "load.table.golden"},
	{[]string{"testdata/load.log", "-o", "json", "--top", "5"}, "load.json.golden"},
	{[]string{"testdata/load.log", "-o", "html", "--top", "5"}, "load.html.golden"},
	{[]string{"testdata/load.log", "--verb", "list", "--user-agent", "nodegroup-*", "--top", "3"}, "load-filtered.table.golden"},
	{[]string{"testdata/incident004.log", "--deleted", "namespace/team-a"}, "deleted-team-a.table.golden"},
	{[]string{"testdata/incident004.log", "--deleted", "namespace/team-a", "-o", "json"}, "deleted-team-a.json.golden"},
	{[]string{"testdata/incident004.log", "--deleted", "namespace/team-a", "-o", "html"}, "deleted-team-a.html.golden"},
	{[]string{"testdata/bad.log"}, "bad.table.golden"},
	{[]string{"testdata/load.log", "testdata/bad.log", "--top", "3"}, "two-inputs.table.golden"},
}

func writeTestdata(t *testing.T) {
	var b bytes.Buffer
	if _, err := Generate(&b, GenerateOptions{Seed: 3, Bytes: 400 << 10, Rate: 1.5, Start: time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"load.log":        b.String(),
		"incident004.log": incident004Log(),
		"bad.log": tev{user: "u", verb: "get", resource: "pods", uri: "/api/v1/pods/x", start: at(0), end: at(time.Millisecond)}.line() +
			"{\"verb\":\"get\",\"user\":{\"username\":\"x\"\n" + "not json at all\n" +
			tev{user: "u", verb: "list", resource: "pods", uri: "/api/v1/pods", start: at(time.Second), end: at(2 * time.Second)}.line(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runGolden renders one case with the library, parsing the few flags the
// cases use the way the command does.
func runGolden(t *testing.T, args []string) []byte {
	t.Helper()
	opts := Options{}
	format := "table"
	var paths []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-o":
			i++
			format = args[i]
		case "--top":
			i++
			opts.Top = int(args[i][0] - '0')
		case "--verb":
			i++
			opts.Filter.Verbs = append(opts.Filter.Verbs, args[i])
		case "--user-agent":
			i++
			opts.Filter.UserAgents = append(opts.Filter.UserAgents, args[i])
		case "--deleted":
			i++
			target, err := ParseTarget(args[i])
			if err != nil {
				t.Fatal(err)
			}
			opts.Deleted = &target
		default:
			paths = append(paths, args[i])
		}
	}
	ins, _, err := Inputs(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	switch format {
	case "json":
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case "html":
		err = WriteHTML(&out, r)
	default:
		err = WriteText(&out, r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	// -update also rewrites the testdata logs the golden files are made from.
	if golden.Update() {
		writeTestdata(t)
	}
	for _, c := range goldenCases {
		t.Run(c.Golden, func(t *testing.T) {
			got := runGolden(t, c.Args)
			golden.Check(t, filepath.Join("testdata", c.Golden), got)
		})
	}
}

// The HTML report is one self-contained file: no scripts, no links or
// sources to fetch; the only URL is the SVG namespace.
func TestHTMLSelfContained(t *testing.T) {
	out := string(runGolden(t, []string{"testdata/load.log", "-o", "html"}))
	if n, ns := strings.Count(out, "http"), strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`); n != ns || ns != 2 {
		t.Errorf("%d URLs, %d of them SVG namespaces (want exactly the 2 charts')", n, ns)
	}
	for _, bad := range []string{"<script", "<link", "src=", "href=", "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
}
