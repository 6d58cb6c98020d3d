package admission

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"

	"github.com/premortem/premortem/internal/check"
)

// CABundleExpiry is the webhook-ca-expiry check.
var CABundleExpiry = &check.Check{
	ID:         "webhook-ca-expiry",
	Title:      "Webhook CA bundle expired or about to expire",
	Category:   "admission",
	Severity:   check.High,
	Escalation: &check.Escalation{To: check.Critical, When: "the CA bundle has expired and the webhook fails closed"},
	Incidents:  []string{"107", "108", "109", "110", "111"},
	Reads:      webhookReads,
	Doc: `Reads the certificates in each webhook's clientConfig.caBundle (PEM in
the configuration itself; no Secret is read) and reports a bundle whose
certificates have all expired or will soon. The API server verifies the
webhook's serving certificate against this bundle: once it has expired,
every call fails with "x509: certificate has expired or is not yet valid".
A fail-closed webhook then rejects every request it matches (108: every
training job; 109, 111: every pod in meshed namespaces); a fail-open one
silently stops mutating or validating.

Bundles are rotated by cainjector, the mesh's or policy engine's own
controller; rotation breaks quietly (107: the cainjector crash-looped; 108:
the renewed CA never reached the bundle; 110: users found out from the
outage). A bundle counts as expiring when its latest certificate expires
within warn-within and within lifetime-fraction of its lifetime, so that
short-lived certificates rotated on schedule (a 24-hour CA renewed hours
ahead) stay quiet. During a rotation the bundle holds old and new CAs: the
latest expiry counts.

Severity: critical when expired and the webhook fails closed; high when
expired and fail-open, or expiring within high-within; medium otherwise.`,
	Remediation: `Find who writes the bundle (annotations such as
cert-manager.io/inject-ca-from, the operator's logs) and why it stopped:
restart cainjector or the operator's certificate controller, or renew the
CA and patch caBundle by hand (kubectl patch validatingwebhookconfiguration
<name> --type=json ...). The webhook's serving certificate must chain to the
new CA. Then alert on the expiry of the CA Secret as well.`,
	Params: []check.Param{
		{Name: "warn-within", Type: check.Duration, Default: "336h", Doc: "Report a bundle expiring within this long (14 days)."},
		{Name: "high-within", Type: check.Duration, Default: "72h", Doc: "A bundle expiring within this long is high severity."},
		{Name: "lifetime-fraction", Type: check.Float, Default: "0.1", Min: "0.01", Doc: "Report only within this fraction of the certificate's lifetime (rotation on schedule stays quiet)."},
	},
	Evidence: []check.EvidenceKey{
		evWebhook,
		evFailurePolicy,
		{Name: "subject", Doc: "subject of the latest-expiring certificate"},
		{Name: "notAfter", Doc: "its expiry (RFC 3339, UTC)"},
		{Name: "daysLeft", Doc: "days until then (negative once expired)"},
		{Name: "certificates", Doc: "certificates in the bundle"},
	},
	Run: runCABundleExpiry,
}

func runCABundleExpiry(p *check.Pass) error {
	for _, h := range hooks(p.Snapshot) {
		latest, n := latestCertificate(h.CABundle)
		if latest == nil {
			continue // no bundle (system roots) or none that parses
		}
		left := latest.NotAfter.Sub(p.Now)
		lifetime := latest.NotAfter.Sub(latest.NotBefore)
		days := math.Floor(left.Hours()/24*10) / 10
		ev := map[string]any{
			"webhook": h.Name, "failurePolicy": string(h.Policy), "subject": latest.Subject.String(),
			"notAfter": check.FormatTime(latest.NotAfter), "daysLeft": days, "certificates": n,
		}
		var sev check.Severity
		var title, state string
		switch {
		case left <= 0:
			sev = check.High
			state = "Calls fail TLS verification now: the webhook silently does nothing (failurePolicy Ignore)."
			if h.failClosed() {
				sev = check.Critical
				state = "Calls fail TLS verification now, and the webhook fails closed: every request it matches is rejected."
			}
			title = fmt.Sprintf("Webhook %s: CA bundle expired %s", h.Name, check.FormatTime(latest.NotAfter))
		case left < p.Duration("warn-within") && left.Seconds() < lifetime.Seconds()*p.Float("lifetime-fraction"):
			sev = check.Medium
			if left < p.Duration("high-within") {
				sev = check.High
			}
			title = fmt.Sprintf("Webhook %s: CA bundle expires in %s", h.Name, check.FormatAge(left))
			state = "Unless it is rotated before then, every call will fail TLS verification."
		default:
			continue
		}
		p.Report(check.Finding{
			Severity: sev,
			Title:    title,
			Message: fmt.Sprintf("%s %s, webhook %s: the latest certificate of its CA bundle (%s) expires %s. %s",
				h.Kind, h.Config, h.Name, latest.Subject, check.FormatTime(latest.NotAfter), state),
			Objects:  []check.Object{h.object()},
			Evidence: ev,
		})
	}
	return nil
}

// latestCertificate parses the PEM certificates of a bundle and returns
// the one that expires last, and how many there are.
func latestCertificate(bundle []byte) (*x509.Certificate, int) {
	var latest *x509.Certificate
	n := 0
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		n++
		if latest == nil || c.NotAfter.After(latest.NotAfter) {
			latest = c
		}
	}
	return latest, n
}
