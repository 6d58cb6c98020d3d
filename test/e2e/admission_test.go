package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
)

// TestAdmissionChecks: each admission check finds its scenario's webhook
// (101-webhook-deadlock, 102-webhook-slow-on-leases, 108-webhook-expired-ca)
// through a real API server, at the expected severity, and the scan reads
// each webhook kind with one LIST chain.
func TestAdmissionChecks(t *testing.T) {
	// The scenario's webhooks as the API server keeps them: the API server
	// accepted the selectors and rules the checks evaluate.
	ctx := context.Background()
	adm := cluster.Client.AdmissionregistrationV1()
	for _, name := range []string{"adm-policy-validator", "adm-csr-validator", "adm-lease-audit", "adm-training-operator"} {
		if _, err := adm.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("scenario webhook %s: %v", name, err)
		}
	}

	before := auditSize(t)
	res := scanJSON(t)
	chains := premortemLists(t, before)
	for _, k := range []string{"validatingwebhookconfigurations.admissionregistration.k8s.io", "mutatingwebhookconfigurations.admissionregistration.k8s.io"} {
		if chains[k] == nil {
			t.Errorf("%s not listed", k)
		}
	}
	for _, n := range res.NotRun {
		if strings.HasPrefix(n.ID, "webhook-") {
			t.Errorf("check %s did not run: %s", n.ID, n.Reason)
		}
	}

	tests := []struct {
		id, first string
		sev       check.Severity
		contains  string // in the message
	}{
		// 101: the policy webhook refuses its own replacement pods.
		{"webhook-backend-down", "ValidatingWebhookConfiguration adm-policy-validator", check.Critical, "creating its own pods in adm-policy"},
		{"webhook-backend-down", "ValidatingWebhookConfiguration adm-csr-validator", check.Critical, "certificate signing requests"},
		{"webhook-blocks-recovery", "ValidatingWebhookConfiguration adm-policy-validator", check.High, "creating its own pods in adm-policy"},
		{"webhook-blocks-recovery", "ValidatingWebhookConfiguration adm-csr-validator", check.High, "certificate signing requests"},
		// 102: fail-open, but 10 seconds on leader-election leases.
		{"webhook-slow-on-leases", "ValidatingWebhookConfiguration adm-lease-audit", check.Medium, "10-second timeout"},
		// 108: a working backend behind an expired CA, failing closed.
		{"webhook-ca-expiry", "ValidatingWebhookConfiguration adm-training-operator", check.Critical, "training-operator-ca"},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.first, func(t *testing.T) {
			fs := findingFor(res, tt.id, tt.first)
			if len(fs) != 1 {
				t.Fatalf("%d %s findings on %s, want 1", len(fs), tt.id, tt.first)
			}
			if fs[0].Severity != tt.sev {
				t.Errorf("severity %s, want %s: %s", fs[0].Severity, tt.sev, fs[0].Title)
			}
			if !strings.Contains(fs[0].Message, tt.contains) {
				t.Errorf("message lacks %q: %s", tt.contains, fs[0].Message)
			}
		})
	}

	// Each webhook is reported by the checks it is meant for, no others:
	// the lease auditor fails open, the training operator's pods are ready.
	for _, f := range res.Findings {
		if !strings.HasPrefix(f.ID, "webhook-") || len(f.Objects) == 0 {
			continue
		}
		o := f.Objects[0].String()
		if (o == "ValidatingWebhookConfiguration adm-lease-audit" && f.ID != "webhook-slow-on-leases") ||
			(o == "ValidatingWebhookConfiguration adm-training-operator" && f.ID != "webhook-ca-expiry") {
			t.Errorf("unexpected %s finding on %s: %s", f.ID, o, f.Title)
		}
	}
	// Scenario 101's webhook is confined to adm-policy and CSRs: the other
	// scenarios were applied and their findings are there.
	if !slices.ContainsFunc(res.Findings, func(f check.Finding) bool { return f.ID == "apiservice-unavailable" }) {
		t.Error("the seed finding apiservice-unavailable is missing: did a webhook block another scenario?")
	}
}
