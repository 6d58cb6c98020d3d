package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/premortem/premortem/test/e2e/auditlog"
)

// TestLabRecordsRequestsInItsAuditLog proves the lab is a real API server:
// a namespace created through it reads back, and the create is in the audit
// log with the admin's identity.
func TestLabRecordsRequestsInItsAuditLog(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lab-proof"}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "lab-proof", metav1.GetOptions{})
	if err != nil || got.UID == "" {
		t.Fatalf("read back: %v (uid %q)", err, got.UID)
	}
	// The log backend is blocking: the event is written before the response,
	// but the write may not be flushed to the file yet.
	var creates []auditlog.Event
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		creates = slices.DeleteFunc(auditlog.Since(t, cluster.AuditLog, 0, ""), func(ev auditlog.Event) bool {
			return ev.Verb != "create" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "namespaces" || ev.ObjectRef.Name != "lab-proof"
		})
		return len(creates) > 0, nil
	})
	if len(creates) != 1 {
		t.Fatalf("want 1 create of namespace lab-proof in the audit log, got %d", len(creates))
	}
	ev := creates[0]
	if ev.User.Username != "premortem-lab-admin" || ev.ResponseStatus == nil || ev.ResponseStatus.Code != 201 {
		t.Errorf("create event: user %q, status %+v", ev.User.Username, ev.ResponseStatus)
	}
}
