package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/cli"
)

// runAudit runs `premortem audit` in-process on the lab's audit log.
func runAudit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), append([]string{"audit", cluster.AuditLog}, args...),
		cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func auditReport(t *testing.T, args ...string) *audit.Report {
	t.Helper()
	code, out, stderr := runAudit(t, append(args, "-o", "json")...)
	if code != cli.ExitOK {
		t.Fatalf("premortem audit exit %d: %s", code, stderr)
	}
	var r audit.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	return &r
}

// TestAuditRanksParallelConsistentLister is incident 004's overload: one
// identity issues LISTs without resourceVersion from 20 goroutines at once.
// premortem audit must rank it first by query time, show its requests in
// flight, and name it among the clients of reads that may reach etcd.
func TestAuditRanksParallelConsistentLister(t *testing.T) {
	ctx := context.Background()
	const user, ua = "e2e-nodegroup-controller", "nodegroup-controller/e2e (linux/amd64)"
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"list"}}}}
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	if _, err := cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := cluster.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// No client-side rate limit: the point is requests in parallel.
	cfg.UserAgent, cfg.QPS, cfg.Burst = ua, 1000, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "RBAC for "+user, func() bool {
		_, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1, ResourceVersion: "0"})
		return err == nil
	})

	since := time.Now().UTC()
	const goroutines, rounds = 20, 15
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				// client-go's default: no resourceVersion, a consistent read.
				opts := metav1.ListOptions{}
				if i%2 == 0 {
					opts.LabelSelector = fmt.Sprintf("nodegroup=ng-%d", g)
				}
				if _, err := client.CoreV1().Pods("").List(ctx, opts); err != nil {
					errs <- err
					return
				}
				if _, err := client.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	r := auditReport(t, "--since", since.Format(time.RFC3339Nano))
	if len(r.Users) == 0 {
		t.Fatal("no users in the report")
	}
	top := r.Users[0]
	t.Logf("top user %s: %d requests, %.2fs query time (%.0f%%), peak %d in flight, mean %.2f; next: %+v",
		top.Name, top.Requests, top.QuerySeconds, top.Share*100, top.PeakInFlight, top.MeanInFlight, r.Users[1:min(len(r.Users), 3)])
	if top.Name != user {
		t.Fatalf("top user by query time = %s, want %s", top.Name, user)
	}
	if top.Requests < goroutines*rounds*2 {
		t.Errorf("requests = %d, want at least %d", top.Requests, goroutines*rounds*2)
	}
	if top.PeakInFlight < 2 {
		t.Errorf("peak in flight = %d: the 20 goroutines never overlapped?", top.PeakInFlight)
	}
	if len(top.UserAgents) == 0 || top.UserAgents[0].Name != ua {
		t.Errorf("user agents = %+v, want %s first", top.UserAgents, ua)
	}
	if len(r.Lists.Clients) == 0 || r.Lists.Clients[0].User != user {
		t.Fatalf("LIST clients = %+v, want %s first", r.Lists.Clients, user)
	}
	lc := r.Lists.Clients[0]
	if lc.Count < goroutines*rounds*2 || lc.ClusterWide != lc.Count || lc.Selector < goroutines*rounds/2 {
		t.Errorf("LIST client = %+v", lc)
	}
	if len(lc.Classes) != 1 || lc.Classes[0].Class != audit.ListConsistent.String() {
		t.Errorf("LIST classes = %+v, want only %s", lc.Classes, audit.ListConsistent)
	}
	if len(r.Timeline.Series) == 0 || r.Timeline.Series[0].User != user {
		t.Errorf("timeline series = %+v", r.Timeline.Series)
	}

	// The terminal table and the HTML report say the same.
	code, out, stderr := runAudit(t, "--since", since.Format(time.RFC3339Nano))
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, rest, _ := strings.Cut(out, "LOAD BY USER")
	rows := strings.Split(rest, "\n")
	if len(rows) < 3 || !strings.HasPrefix(rows[2], user+" ") {
		t.Errorf("first row of LOAD BY USER is not %s:\n%s", user, out)
	}
	code, out, _ = runAudit(t, "--since", since.Format(time.RFC3339Nano), "-o", "html")
	if code != cli.ExitOK || strings.Count(out, "<svg") != 2 || !strings.Contains(out, user) {
		t.Errorf("html report: exit %d, %d bytes", code, len(out))
	}
}

// TestAuditTracesNamespaceDeletion deletes a namespace with content while
// the controller manager runs, and traces it: the request with its user
// agent and source IP, then the namespace controller's cascade up to the
// last object removed.
func TestAuditTracesNamespaceDeletion(t *testing.T) {
	ctx := context.Background()
	const ns, ua = "audit-e2e-doomed", "Helm/3.16.2 (e2e)"
	c := cluster.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("config-%d", i)}, Data: map[string]string{"k": "v"}}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("secret-%d", i)}, StringData: map[string]string{"k": "v"}}
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"app": "web"}}}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	helmCfg := rest.CopyConfig(cluster.Config)
	helmCfg.UserAgent = ua
	helm, err := kubernetes.NewForConfig(helmCfg)
	if err != nil {
		t.Fatal(err)
	}
	requested := time.Now()
	if err := helm.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The namespace controller empties the namespace. (It may not finalize
	// it: scenario 004 leaves an unavailable APIService in this lab.)
	waitFor(t, "the namespace controller to empty "+ns, func() bool {
		cms, err1 := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		secrets, err2 := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		svcs, err3 := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		return err1 == nil && err2 == nil && err3 == nil && len(cms.Items)+len(secrets.Items)+len(svcs.Items) == 0
	})
	emptied := time.Now()

	r := auditReport(t, "--deleted", "namespace/"+ns)
	d := r.Deletion
	if d == nil || d.Request == nil {
		t.Fatalf("no delete request found: %+v", d)
	}
	if d.LastRemoved == nil {
		t.Fatalf("no last object removed: %+v", d)
	}
	t.Logf("request %s by %s (%s) from %v; cascade %d deletes, %d retries, gap %.3fs; last removed %s %s %v at %s",
		d.Request.Time.Format(time.RFC3339Nano), d.Request.User, d.Request.UserAgent, d.Request.SourceIPs,
		d.CascadeDeletes, d.Retries, deref(d.GapSeconds), d.LastRemoved.Verb, d.LastRemoved.Resource, d.LastRemoved.Objects, d.LastRemoved.Time.Format(time.RFC3339Nano))
	if d.Request.UserAgent != ua || d.Request.Code != 200 || len(d.Request.SourceIPs) == 0 {
		t.Errorf("request = %+v", d.Request)
	}
	if d.Request.Time.Before(requested.Add(-time.Second)) || d.Request.Time.After(emptied) {
		t.Errorf("request at %s, not between %s and %s", d.Request.Time, requested, emptied)
	}
	if d.GapSeconds == nil || *d.GapSeconds < 0 || *d.GapSeconds > emptied.Sub(requested).Seconds()+1 {
		t.Errorf("gap = %v s, want between 0 and %s", deref(d.GapSeconds), emptied.Sub(requested))
	}
	// Each of the three kinds was removed by the namespace controller after
	// the request and before the test saw the namespace empty.
	first := map[string]time.Time{}
	for _, g := range d.Cascade {
		if g.Actor == audit.ActorNamespaceController {
			if f, ok := first[g.Resource]; !ok || g.First.Before(f) {
				first[g.Resource] = g.First
			}
		}
	}
	for _, res := range []string{"configmaps", "secrets", "services"} {
		f, ok := first[res]
		if !ok {
			t.Errorf("no cascade delete of %s by the namespace controller: %+v", res, d.Cascade)
			continue
		}
		if f.Before(d.Request.Time) || f.After(emptied.Add(time.Second)) {
			t.Errorf("%s first deleted at %s, outside the request (%s) and the test seeing it empty (%s)", res, f, d.Request.Time, emptied)
		}
		if d.LastRemoved == nil || d.LastRemoved.Time.Before(f) {
			t.Errorf("last removed %+v is before the first delete of %s at %s", d.LastRemoved, res, f)
		}
	}
	if d.LastRemoved == nil || d.LastRemoved.Actor != audit.ActorNamespaceController && d.LastRemoved.Actor != audit.ActorGarbageCollector {
		t.Fatalf("last removed = %+v, want a controller's delete", d.LastRemoved)
	}
	// The log holds the creates, so the report knows what the namespace
	// held and which objects the last delete removed.
	if d.KnownObjects < 6 || d.LastRemoved.ObjectCount == 0 {
		t.Errorf("known objects %d, last removed %d objects (%v)", d.KnownObjects, d.LastRemoved.ObjectCount, d.LastRemoved.Objects)
	}
	for _, rest := range d.Remaining {
		if strings.HasPrefix(rest, "configmaps/config-") || strings.HasPrefix(rest, "secrets/") || strings.HasPrefix(rest, "services/") {
			t.Errorf("%s is gone from the API but the report did not see it removed", rest)
		}
	}

	// The table names the request and the last object removed.
	code, out, stderr := runAudit(t, "--deleted", "namespace/"+ns)
	t.Logf("premortem audit --deleted namespace/%s:\n%s", ns, out)
	if code != cli.ExitOK || !strings.Contains(out, "Delete request:") || !strings.Contains(out, ua) || !strings.Contains(out, "Last object removed:") {
		t.Errorf("table: exit %d\n%s\n%s", code, out, stderr)
	}
}

func deref(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}
