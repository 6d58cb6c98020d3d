package check

import (
	"fmt"
	"time"
)

// FormatAge renders a duration as kubectl shows ages: "45s", "12m", "3h20m",
// "4d6h". Findings use it in titles and evidence so they stay short and
// comparable with `kubectl get`.
func FormatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// Plural returns "1 namespace" or "3 namespaces".
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// FormatTime renders a time in evidence: RFC 3339 in UTC, to the second.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// First returns at most n of xs: a finding names a sample of many objects
// and gives their count in its evidence.
func First[T any](xs []T, n int) []T {
	if len(xs) > n {
		return xs[:max(n, 0)]
	}
	return xs
}
