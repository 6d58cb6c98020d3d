package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/restart"
)

// TestRestartPlanShowsBGPWindow: in the lab with every scenario, the
// restart plan for kube-system reads Calico's BGP kinds (003-bgp-window)
// and shows their window, and says that typha's image, on one node of
// several (003-single-typha), would have to be pulled within it. The plan
// changes nothing.
func TestRestartPlanShowsBGPWindow(t *testing.T) {
	code, out, stderr := premortemCLI(t, "restart", "-n", "kube-system", "--kubeconfig", cluster.Kubeconfig,
		"--state-dir", t.TempDir(), "-o", "json")
	if code != cli.ExitOK {
		t.Fatalf("restart plan: exit %d: %s", code, stderr)
	}
	var plan restart.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, out)
	}
	w := plan.BGPWindow
	if w == nil || w.Seconds != 120 || len(w.Peerings) != 2 || !strings.HasPrefix(w.From, "BGPPeer cr1-eqiad") {
		t.Fatalf("window %+v, want 120s from the two core routers (no node mesh)", w)
	}
	var typha *restart.Step
	for i, s := range plan.Steps {
		if s.ID == "deployment/kube-system/calico-typha" {
			typha = &plan.Steps[i]
		}
	}
	if typha == nil {
		t.Fatal("no calico-typha step")
	}
	if typha.BGPWindowSeconds != 120 || !strings.Contains(strings.Join(typha.Warnings, "\n"), "its pull counts against the BGP graceful-restart window (120s") {
		t.Errorf("typha: window %ds, warnings %q", typha.BGPWindowSeconds, typha.Warnings)
	}
}
