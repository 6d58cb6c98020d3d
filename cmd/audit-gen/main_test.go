package main

import (
	"testing"
	"time"

	"github.com/premortem/premortem/internal/audit"
)

func TestParseStorm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want audit.Storm
		ok   bool
	}{
		{"2h/30s", audit.Storm{At: 2 * time.Hour, Length: 30 * time.Second}, true},
		{"70h/30s/100", audit.Storm{At: 70 * time.Hour, Length: 30 * time.Second, Rate: 100}, true},
		{"0s/1m/0.5", audit.Storm{Length: time.Minute, Rate: 0.5}, true},
		{"2h", audit.Storm{}, false},
		{"2h/30s/100/1", audit.Storm{}, false},
		{"-1h/30s", audit.Storm{}, false},
		{"2h/0s", audit.Storm{}, false},
		{"2h/30s/0", audit.Storm{}, false},
		{"2h/30s/fast", audit.Storm{}, false},
		{"soon/30s", audit.Storm{}, false},
	} {
		got, err := parseStorm(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseStorm(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
