package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/lab/scenario"
)

// TestWellRunStaysQuiet: no finding of any check names an object of
// scenario 200-well-run (namespace well-run, CoreDNS and the cluster-scoped
// objects it configures by the best public guidance). A check that reports
// one of them is a false positive on a well-run cluster: fix the check, or,
// if the scenario really is not well-run, the scenario.
func TestWellRunStaysQuiet(t *testing.T) {
	res := scanJSON(t)
	for _, n := range res.NotRun {
		t.Logf("check %s did not run, so it was not tried on the well-run scenario: %s", n.ID, n.Reason)
	}
	var bad []string
	for _, f := range res.Findings {
		for _, o := range f.Objects {
			if wellRunObject(o) {
				bad = append(bad, f.ID+" ("+f.Severity.String()+") on "+o.String()+": "+f.Title)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d findings name well-run objects:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
}

func wellRunObject(o check.Object) bool {
	if o.Namespace == scenario.WellRunNamespace || (o.Kind == "Namespace" && o.Name == scenario.WellRunNamespace) {
		return true
	}
	if slices.Contains(scenario.WellRunAddOns, o.String()) {
		return true
	}
	// What controllers make of the add-ons: CoreDNS's ReplicaSets and
	// pods, kube-dns's EndpointSlices.
	return o.Namespace == "kube-system" && (strings.HasPrefix(o.Name, "coredns-") || strings.HasPrefix(o.Name, "kube-dns-"))
}
