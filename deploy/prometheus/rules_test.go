// Package prometheus holds premortem's alert rules (premortem-rules.yaml)
// and their promtool unit tests (premortem-rules.test.yaml). Its Go tests
// run promtool, built at a pinned version by tools/build.sh (`make tools`,
// which `make test` runs first), and check that every rule is documented,
// links to a real runbook section and is tested both firing and quiet.
package prometheus

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	rulesFile = "premortem-rules.yaml"
	testsFile = "premortem-rules.test.yaml"
	// runbookBase is where runbook_url links point: the repository's docs.
	runbookBase = "https://github.com/premortem/premortem/blob/main/"
)

// root is the repository root, from this package's directory.
var root = filepath.Join("..", "..")

// promtool returns the pinned promtool: $PREMORTEM_PROMTOOL, else
// .cache/tools/bin/promtool. A missing binary fails the test, as the lab's
// missing binaries do: the rules are not tested otherwise. -short (make
// unit) skips it, since building promtool takes minutes.
func promtool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs promtool, built by make tools")
	}
	p := os.Getenv("PREMORTEM_PROMTOOL")
	if p == "" {
		p = filepath.Join(root, ".cache", "tools", "bin", "promtool")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("promtool not found at %s: build it with `make tools` (or set PREMORTEM_PROMTOOL)", p)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("promtool %s: %v", strings.Join(args, " "), err)
	}
}

// TestPromtoolCheckRules: the rules parse, their expressions and templates
// are valid, and promtool's linter finds nothing.
func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, "check", "rules", "--lint=all", "--lint-fatal", rulesFile)
}

// TestPromtoolTestRules runs the rules' unit tests.
func TestPromtoolTestRules(t *testing.T) {
	runPromtool(t, "test", "rules", testsFile)
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type testFile struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func alerts(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, rulesFile, &f)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return out
}

// TestRulesTestedFiringAndQuiet: every alert has a promtool case where it
// fires and one where it stays quiet.
func TestRulesTestedFiringAndQuiet(t *testing.T) {
	var tf testFile
	readYAML(t, testsFile, &tf)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, r := range alerts(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no test case in %s where it fires", r.Alert, testsFile)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no test case in %s where it stays quiet", r.Alert, testsFile)
		}
	}
}

var metricName = regexp.MustCompile(`\bpremortem_[a-z_]+\b`)

// TestRulesComplete: every rule is an alert with a severity, a summary, a
// description and a runbook_url whose section exists; it is documented in
// docs/agent.md, and every premortem metric it uses is one docs/agent.md
// lists (a misspelt metric is an alert that can never fire).
func TestRulesComplete(t *testing.T) {
	agentDoc, err := os.ReadFile(filepath.Join(root, "docs", "agent.md"))
	if err != nil {
		t.Fatal(err)
	}
	rulesDoc := section(agentDoc, "## Alert rules")
	metricsDoc := section(agentDoc, "## Metrics")
	seen := map[string]bool{}
	for _, r := range alerts(t) {
		name := r.Alert
		if name == "" {
			t.Errorf("recording rule %s: the file holds alerts only", r.Record)
			continue
		}
		if seen[name] {
			t.Errorf("%s: two rules of that name", name)
		}
		seen[name] = true
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", name, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", name, a)
			}
		}
		if err := checkRunbook(r.Annotations["runbook_url"]); err != "" {
			t.Errorf("%s: runbook_url %s: %s", name, r.Annotations["runbook_url"], err)
		}
		if !bytes.Contains(rulesDoc, []byte("### "+name+"\n")) {
			t.Errorf("%s: docs/agent.md, section Alert rules, has no heading ### %s", name, name)
		}
		for _, m := range metricName.FindAllString(r.Expr+" "+r.Annotations["description"], -1) {
			if !bytes.Contains(metricsDoc, []byte("`"+m+"`")) {
				t.Errorf("%s: uses %s, which docs/agent.md's Metrics table does not list", name, m)
			}
		}
	}
}

// checkRunbook returns what is wrong with a runbook link: it must point at
// a heading of a document in the repository. An anchor filled in by a
// template ({{ $labels.check }}) is checked as far as its document.
func checkRunbook(url string) string {
	rest, ok := strings.CutPrefix(url, runbookBase)
	if !ok {
		return "does not start with " + runbookBase
	}
	path, anchor, _ := strings.Cut(rest, "#")
	doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		return err.Error()
	}
	if strings.Contains(anchor, "{{") {
		return ""
	}
	var anchors []string
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors = append(anchors, headingAnchor(strings.TrimLeft(h, "#")))
		}
	}
	if anchor == "" || !slices.Contains(anchors, anchor) {
		return "no heading with anchor #" + anchor + " in " + path
	}
	return ""
}

// headingAnchor is the anchor GitHub gives a markdown heading: lower case,
// spaces to hyphens, punctuation other than hyphens and underscores
// dropped.
func headingAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// section returns the markdown section under heading, up to the next
// heading of the same level.
func section(doc []byte, heading string) []byte {
	_, after, ok := bytes.Cut(doc, []byte("\n"+heading+"\n"))
	if !ok {
		return nil
	}
	level := heading[:strings.Index(heading, " ")+1]
	if i := bytes.Index(after, []byte("\n"+level)); i >= 0 {
		return after[:i]
	}
	return after
}
