package check

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/premortem/premortem/internal/incident"
)

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Validate reports every way cs falls short of a catalog entry: a check must
// say what it reads, why it matters, how to fix it and where it comes from,
// because that text is the user's documentation.
func Validate(cs []*Check) error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range cs {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("check %q: "+format, append([]any{c.ID}, a...)...))
		}
		if !kebab.MatchString(c.ID) {
			bad("ID is not kebab-case")
		}
		if seen[c.ID] {
			bad("duplicate ID")
		}
		seen[c.ID] = true
		if c.Title == "" {
			bad("no title")
		}
		if c.Category == "" {
			bad("no category")
		}
		if c.Severity < Info || c.Severity > Critical {
			bad("severity out of range")
		}
		if e := c.Escalation; e != nil && (e.To <= c.Severity || e.To > Critical || e.When == "") {
			bad("escalation must say when, to a severity above %s", c.Severity)
		}
		if len(c.Incidents) == 0 {
			bad("no incidents")
		}
		for _, id := range c.Incidents {
			if _, ok := incident.Lookup(id); !ok {
				bad("unknown incident %q (not in internal/incident)", id)
			}
		}
		if len(c.Reads) == 0 {
			bad("no reads")
		}
		if c.Doc == "" {
			bad("no doc")
		}
		if c.Remediation == "" {
			bad("no remediation")
		}
		if c.Run == nil {
			bad("no run function")
		}
		if len(c.Evidence) == 0 {
			bad("no evidence keys declared")
		}
		keys := map[string]bool{}
		for _, e := range c.Evidence {
			if e.Name == "" || e.Doc == "" || keys[e.Name] {
				bad("evidence key %q: empty, undocumented or declared twice", e.Name)
			}
			keys[e.Name] = true
		}
		names := map[string]bool{}
		for _, p := range c.Params {
			if !kebab.MatchString(p.Name) {
				bad("parameter %q is not kebab-case", p.Name)
			}
			if names[p.Name] {
				bad("duplicate parameter %q", p.Name)
			}
			names[p.Name] = true
			if p.Doc == "" {
				bad("parameter %q has no doc", p.Name)
			}
			if _, err := p.parse(p.Default); err != nil {
				bad("parameter %q default: %v", p.Name, err)
			}
			if p.Type == Text && p.Min != "" {
				bad("parameter %q: a text parameter has no minimum", p.Name)
			}
		}
	}
	return errors.Join(errs...)
}
