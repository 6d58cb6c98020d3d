package preflight_test

import (
	"testing"

	"github.com/premortem/premortem/test/e2e/auditlog"
)

// auditOffset is the audit log's current size: events after it belong to
// what the test does next.
func auditOffset(t *testing.T) int64 {
	t.Helper()
	return auditlog.Size(t, cluster.AuditLog)
}

// premortemReads returns premortem's requests logged after offset, and its
// LIST chains by kind, every LIST checked by auditlog.Lists.
func premortemReads(t *testing.T, offset int64) ([]auditlog.Event, map[string]*auditlog.Chain) {
	t.Helper()
	events := auditlog.Since(t, cluster.AuditLog, offset, "premortem/")
	return events, auditlog.Lists(t, events)
}
