package prometheus

import "testing"

// The opt-in rules of `premortem agent --apiserver-sample`
// (docs/measure.md), in a file of their own.
const (
	apiserverRulesFile = "premortem-apiserver-rules.yaml"
	apiserverTestsFile = "premortem-apiserver-rules.test.yaml"
)

// TestAPIServerRules: the rules parse and lint clean, their unit tests
// pass, and each links to a heading that exists.
func TestAPIServerRules(t *testing.T) {
	runPromtool(t, "check", "rules", "--lint=all", "--lint-fatal", apiserverRulesFile)
	runPromtool(t, "test", "rules", apiserverTestsFile)
	var f ruleFile
	readYAML(t, apiserverRulesFile, &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if err := checkRunbook(r.Annotations["runbook_url"]); err != "" {
				t.Errorf("%s: runbook_url %s: %s", r.Alert, r.Annotations["runbook_url"], err)
			}
		}
	}
}
