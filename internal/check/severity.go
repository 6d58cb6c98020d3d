package check

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity ranks a finding. The zero value is Info, so a finding that forgot
// to set one never outranks a real one.
type Severity int

// Severities, least severe first: comparisons (>=) work on them.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// Severities returns every severity, most severe first (the order reports use).
func Severities() []Severity { return []Severity{Critical, High, Medium, Low, Info} }

// String returns the lower-case name ("high").
func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalJSON writes the severity as its name, so the JSON schema does not
// depend on the order of the constants.
func (s Severity) MarshalJSON() ([]byte, error) {
	if s < Info || s > Critical {
		return nil, fmt.Errorf("marshal %v: out of range", s)
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("severity: %w", err)
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}
