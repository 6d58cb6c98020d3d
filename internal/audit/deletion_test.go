package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	nsController = "system:serviceaccount:kube-system:namespace-controller"
	gcController = "system:serviceaccount:kube-system:generic-garbage-collector"
)

// incident004Log: Helm deletes namespace team-a on the 13th; the namespace
// controller keeps failing discovery (an unavailable metrics APIService) and
// only updates the namespace status; on the 17th it empties the namespace.
func incident004Log() string {
	var b strings.Builder
	day := 24 * time.Hour
	w := func(e tev) { b.WriteString(e.line()) }
	w(tev{id: "c1", user: "helm", ua: "Helm/3.3.4", verb: "create", resource: "namespaces", ns: "team-a", name: "team-a", start: at(-day), end: at(-day)})
	w(tev{id: "d0", user: "bob", ua: "kubectl/v1.19", verb: "delete", resource: "configmaps", ns: "team-a", name: "old", start: at(-time.Hour), end: at(-time.Hour)})
	for _, o := range [][3]string{{"configmaps", "", "a"}, {"configmaps", "", "b"}, {"configmaps", "", "old"}, {"secrets", "", "s"}, {"deployments", "apps", "web"}, {"services", "", "web"}} {
		w(tev{id: "create-" + o[0] + o[2], user: "helm", verb: "create", resource: o[0], group: o[1], ns: "team-a", name: o[2], start: at(-2 * time.Hour), end: at(-2 * time.Hour)})
	}
	w(tev{id: "req", user: "spinnaker", ua: "Helm/3.3.4", ips: []string{"10.1.2.3"}, verb: "delete", resource: "namespaces", ns: "team-a", name: "team-a",
		start: at(0), end: at(20 * time.Millisecond)})
	// Unrelated namespace, same controller.
	w(tev{id: "x", user: nsController, verb: "deletecollection", resource: "configmaps", ns: "team-b", start: at(time.Minute), end: at(time.Minute)})
	for i := range 96 {
		s := at(time.Duration(i+1) * time.Hour)
		w(tev{id: fmt.Sprintf("st%d", i), user: nsController, verb: "update", resource: "namespaces", sub: "status", ns: "team-a", name: "team-a", start: s, end: s})
	}
	cascade := at(4*day + 2*time.Hour)
	for i, r := range []string{"configmaps", "secrets", "deployments"} {
		group := ""
		if r == "deployments" {
			group = "apps"
		}
		s := cascade.Add(time.Duration(i) * time.Second)
		w(tev{id: "dc-" + r, user: nsController, verb: "deletecollection", resource: r, group: group, ns: "team-a", uri: "/api/v1/namespaces/team-a/" + r, start: s, end: s})
	}
	for i := range 3 {
		s := cascade.Add(time.Duration(10+i) * time.Second)
		w(tev{id: fmt.Sprintf("gc%d", i), user: gcController, verb: "delete", resource: "pods", ns: "team-a", name: fmt.Sprintf("web-%d", i), start: s, end: s})
	}
	// A failed delete removes nothing.
	w(tev{id: "fail", user: nsController, verb: "delete", resource: "services", ns: "team-a", name: "gone", code: 404, start: cascade.Add(14 * time.Second), end: cascade.Add(14 * time.Second)})
	w(tev{id: "svc", user: nsController, verb: "delete", resource: "services", ns: "team-a", name: "web", start: cascade.Add(15 * time.Second), end: cascade.Add(15 * time.Second)})
	// The controller's next sync repeats a deletecollection: a retry.
	w(tev{id: "retry", user: nsController, verb: "deletecollection", resource: "configmaps", ns: "team-a", start: cascade.Add(17 * time.Second), end: cascade.Add(17 * time.Second)})
	w(tev{id: "fin", user: nsController, verb: "update", resource: "namespaces", sub: "finalize", ns: "team-a", name: "team-a", start: cascade.Add(20 * time.Second), end: cascade.Add(20 * time.Second)})
	return b.String()
}

func TestDeletionForensicsIncident004(t *testing.T) {
	target, err := ParseTarget("namespace/team-a")
	if err != nil {
		t.Fatal(err)
	}
	r := analyze(t, Options{Deleted: &target}, StringInput("audit.log", incident004Log()))
	d := r.Deletion
	if d == nil || d.Request == nil {
		t.Fatalf("no request found: %+v", d)
	}
	if d.Request.AuditID != "req" || d.Request.User != "spinnaker" || d.Request.UserAgent != "Helm/3.3.4" || strings.Join(d.Request.SourceIPs, ",") != "10.1.2.3" {
		t.Errorf("request = %+v", d.Request)
	}
	if d.CascadeDeletes != 8 {
		t.Errorf("cascade deletes = %d, want 8 (3 deletecollection, 3 GC, 1 service, 1 retry)", d.CascadeDeletes)
	}
	wantGap := (4*24*time.Hour + 2*time.Hour - 20*time.Millisecond).Seconds()
	if d.GapSeconds == nil || abs(*d.GapSeconds-wantGap) > 1e-6 {
		t.Errorf("gap = %v, want %v", d.GapSeconds, wantGap)
	}
	if d.DurationSeconds == nil || *d.DurationSeconds != 17 {
		t.Errorf("cascade duration = %v, want 17", d.DurationSeconds)
	}
	if d.LastRemoved == nil || d.LastRemoved.Name != "web" || d.LastRemoved.Resource != "services" {
		t.Errorf("last removed = %+v", d.LastRemoved)
	}
	if d.Retries != 1 {
		t.Errorf("retries = %d, want 1", d.Retries)
	}
	if d.KnownObjects != 5 || len(d.Remaining) != 0 {
		t.Errorf("known objects = %d, remaining %v; want 5 and none", d.KnownObjects, d.Remaining)
	}
	if strings.Join(d.LastRemoved.Objects, ",") != "web" {
		t.Errorf("last removed objects = %v", d.LastRemoved.Objects)
	}
	for _, g := range d.Cascade {
		if g.Resource == "configmaps" && g.Count != 2 {
			t.Errorf("configmaps deleted %d times, want 2 (one retry)", g.Count)
		}
	}
	if d.Removed == nil || d.Removed.AuditID != "fin" {
		t.Errorf("removed = %+v", d.Removed)
	}
	if d.Before != 1 || d.ChangeCount != 98 {
		t.Errorf("before = %d, changes = %d; want 1 and 98 (create, 96 status updates, finalize)", d.Before, d.ChangeCount)
	}
	var byActor = map[string]int64{}
	for _, g := range d.Cascade {
		byActor[g.Actor] += g.Count
	}
	if byActor[ActorNamespaceController] != 5 || byActor[ActorGarbageCollector] != 3 {
		t.Errorf("cascade by actor = %v", byActor)
	}

	// Logs that end before the cascade: the request, and a note saying why
	// the cascade may be missing.
	cut := incident004Log()
	cut = cut[:strings.Index(cut, `"dc-configmaps"`)]
	cut = cut[:strings.LastIndex(cut, "\n")+1]
	r = analyze(t, Options{Deleted: &target}, StringInput("audit.log", cut))
	if r.Deletion.Request == nil || r.Deletion.CascadeDeletes != 0 || !strings.Contains(strings.Join(r.Deletion.Notes, " "), "APIService") {
		t.Errorf("cut log: %+v", r.Deletion)
	}

	// Logs without the request (rotated away): say so.
	r = analyze(t, Options{Deleted: &target, Since: at(time.Hour)}, StringInput("audit.log", incident004Log()))
	if r.Deletion.Request != nil || !strings.Contains(strings.Join(r.Deletion.Notes, " "), "no delete request") {
		t.Errorf("without the request: %+v", r.Deletion)
	}
}

func TestDeletionOfOneObject(t *testing.T) {
	var b strings.Builder
	b.WriteString(tev{id: "r", user: "alice", verb: "delete", resource: "deployments", group: "apps", ns: "team-a", name: "web", start: at(0), end: at(time.Millisecond)}.line())
	b.WriteString(tev{id: "g1", user: gcController, verb: "delete", resource: "replicasets", group: "apps", ns: "team-a", name: "web-5d4", start: at(time.Second), end: at(time.Second)}.line())
	b.WriteString(tev{id: "g2", user: gcController, verb: "delete", resource: "pods", ns: "team-a", name: "web-5d4-abc", start: at(2 * time.Second), end: at(2 * time.Second)}.line())
	b.WriteString(tev{id: "o", user: "bob", verb: "delete", resource: "configmaps", ns: "team-a", name: "x", start: at(3 * time.Second), end: at(3 * time.Second)}.line())
	target, _ := ParseTarget("deployments.apps/team-a/web")
	r := analyze(t, Options{Deleted: &target}, StringInput("audit.log", b.String()))
	d := r.Deletion
	if d.Request == nil || d.Request.AuditID != "r" || d.CascadeDeletes != 2 || d.LastRemoved.Name != "web-5d4-abc" || len(d.OtherDeletes) != 1 {
		t.Errorf("deletion = %+v", d)
	}
}

// A delete whose event lacks requestReceivedTimestamp is still traced (it
// cannot count for load, which needs a duration).
func TestDeletionWithoutReceivedTimestamp(t *testing.T) {
	line := `{"kind":"Event","stage":"ResponseComplete","verb":"delete","user":{"username":"alice"},"objectRef":{"resource":"namespaces","namespace":"x","name":"x"},"responseStatus":{"code":200},"stageTimestamp":"2024-05-13T09:00:00Z"}` + "\n"
	target, _ := ParseTarget("namespace/x")
	r := analyze(t, Options{Deleted: &target}, StringInput("audit.log", line))
	if r.Deletion.Request == nil || r.Deletion.Request.User != "alice" || r.Untimed != 1 {
		t.Errorf("request = %+v, untimed = %d", r.Deletion.Request, r.Untimed)
	}
}

// Objects created with generateName have no name at Metadata level; when the
// namespace was created in the logs, a delete of an unseen name is one of them.
func TestDeletionGeneratedNames(t *testing.T) {
	var b strings.Builder
	w := func(e tev) { b.WriteString(e.line()) }
	w(tev{id: "ns", user: "alice", verb: "create", resource: "namespaces", ns: "n", name: "n", start: at(0), end: at(0)})
	w(tev{id: "c1", user: "ctrl", verb: "create", resource: "endpointslices", group: "discovery.k8s.io", ns: "n", start: at(time.Second), end: at(time.Second)})
	w(tev{id: "req", user: "alice", verb: "delete", resource: "namespaces", ns: "n", name: "n", start: at(time.Minute), end: at(time.Minute)})
	w(tev{id: "gc", user: gcController, verb: "delete", resource: "endpointslices", group: "discovery.k8s.io", ns: "n", name: "web-x7k2p", start: at(2 * time.Minute), end: at(2 * time.Minute)})
	w(tev{id: "dc", user: nsController, verb: "deletecollection", resource: "endpointslices", group: "discovery.k8s.io", ns: "n", start: at(3 * time.Minute), end: at(3 * time.Minute)})
	target, _ := ParseTarget("namespace/n")
	r := analyze(t, Options{Deleted: &target}, StringInput("audit.log", b.String()))
	d := r.Deletion
	if d.KnownObjects != 1 || len(d.Remaining) != 0 || d.LastRemoved == nil || d.LastRemoved.AuditID != "gc" {
		t.Errorf("known %d remaining %v last removed %+v", d.KnownObjects, d.Remaining, d.LastRemoved)
	}
}
