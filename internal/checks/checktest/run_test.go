package checktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

const nodes = `# want: high Node n1 ~ n1
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Node, metadata: {name: n1}}
`

// TestVerify: the runner fails a check whose findings break its
// declaration, as well as one whose findings differ from the wants.
func TestVerify(t *testing.T) {
	report := func(sev check.Severity, ev map[string]any) func(*check.Pass) error {
		return func(p *check.Pass) error {
			for _, n := range p.Snapshot.Nodes {
				p.Report(check.Finding{Severity: sev, Title: n.Name, Objects: []check.Object{{Kind: "Node", Name: n.Name}}, Evidence: ev})
			}
			return nil
		}
	}
	tests := []struct {
		name    string
		run     func(*check.Pass) error
		fixture string
		want    []string // substrings, one per problem
	}{
		{name: "ok", run: report(check.High, map[string]any{"count": 1}), fixture: nodes},
		{name: "above declared severity", run: report(check.Critical, nil), fixture: nodes,
			want: []string{"check bug: finding above the check's declared severity"}},
		{name: "undeclared evidence key", run: report(check.High, map[string]any{"other": 1}), fixture: nodes,
			want: []string{`msg="check bug: evidence key not declared in the check's Evidence" check=x key=other`}},
		{name: "missing finding", run: report(check.Medium, nil), fixture: nodes,
			want: []string{"no finding matches want", "unexpected finding: medium", "got: medium"}},
		{name: "fires without a want", run: report(check.High, nil), fixture: strings.Replace(nodes, "# want", "#", 1),
			want: []string{"a fires fixture must want at least one finding", "unexpected finding: high", "got: high"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &check.Check{ID: "x", Severity: check.High, Reads: []snapshot.Resource{snapshot.Nodes},
				Evidence: []check.EvidenceKey{{Name: "count", Doc: "d"}}, Run: tt.run}
			path := filepath.Join(t.TempDir(), "fires.yaml")
			if err := os.WriteFile(path, []byte(tt.fixture), 0o644); err != nil {
				t.Fatal(err)
			}
			fx, err := Load(path, c.AllReads())
			if err != nil {
				t.Fatal(err)
			}
			got := Verify(c, fx)
			if len(got) != len(tt.want) {
				t.Fatalf("Verify = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	for name, fixture := range map[string]string{
		"unread kind":    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Nod, metadata: {name: n1}}\n",
		"broken item":    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: [n1]}}\n",
		"unknown skip":   "# skipped: nodez forbidden\napiVersion: v1\nkind: List\nitems: []\n",
		"malformed want": "# want: high\napiVersion: v1\nkind: List\nitems: []\n",
	} {
		path := filepath.Join(t.TempDir(), "fires.yaml")
		if err := os.WriteFile(path, []byte(fixture), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil)
		if err == nil {
			t.Errorf("%s: Load accepted the fixture", name)
		}
		t.Logf("%s: %v", name, err)
	}
}
