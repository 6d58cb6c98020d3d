package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/test/e2e/auditlog"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// premortemCLI runs premortem in-process and returns its exit code, stdout
// and stderr.
func premortemCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// storageLists reads the API server's own count of LISTs it answered from the
// watch cache and of list requests it sent to etcd, by resource.
func storageLists(t *testing.T) (cache, etcd map[string]float64) {
	t.Helper()
	raw, err := cluster.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("read API server metrics: %v", err)
	}
	cache, etcd = map[string]float64{}, map[string]float64{}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	for _, line := range strings.Split(string(raw), "\n") {
		var m map[string]float64
		switch {
		case strings.HasPrefix(line, "apiserver_cache_list_total{"):
			m = cache
		case strings.HasPrefix(line, "etcd_requests_total{") && strings.Contains(line, `operation="list"`):
			m = etcd
		default:
			continue
		}
		labels := map[string]string{}
		for _, l := range label.FindAllStringSubmatch(line[:strings.LastIndex(line, "}")], -1) {
			labels[l[1]] = l[2]
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[labels["resource"]+"."+labels["group"]] += v
	}
	return cache, etcd
}

func TestScanReadCost(t *testing.T) {
	// Pages of 40: the scenarios leave hundreds of Jobs, Secrets and
	// NetworkPolicies, so continue pages are exercised too.
	counts := objectCounts(t, jobs, secrets, networkPolicies)
	before := auditSize(t)
	cacheBefore, etcdBefore := storageLists(t)
	code, _, stderr := premortemCLI(t, "scan", "--kubeconfig", cluster.Kubeconfig, "-o", "json", "--chunk-size", "40")
	if code == cli.ExitError {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	cacheAfter, etcdAfter := storageLists(t)
	chains := premortemLists(t, before)
	for _, k := range []schema.GroupVersionResource{jobs, secrets, networkPolicies} {
		auditlog.Paged(t, chains, k.Resource+"."+k.Group, counts[k])
	}
	// The API server's own word: the first page of every kind was answered
	// by the watch cache. Continue pages are answered from the cache's
	// snapshots, except for a kind with no write since the last etcd
	// compaction (every 5 minutes): Kubernetes 1.36 drops its snapshots then
	// and answers those pages from etcd at the list's revision.
	for _, k := range []string{"pods.", "nodes.", "namespaces.", "jobs.batch"} {
		if d := cacheAfter[k] - cacheBefore[k]; d < 1 {
			t.Errorf("%s: apiserver_cache_list_total did not grow: the first page was not served from the watch cache", k)
		}
		c := chains[k]
		if c == nil {
			t.Errorf("%s not listed", k)
			continue
		}
		if d := etcdAfter[k] - etcdBefore[k]; d > float64(c.Pages-1) {
			t.Errorf("%s: %v list requests reached etcd for %d pages: more than the continue pages", k, d, c.Pages)
		}
	}
}

func TestSnapshotSaveReadCost(t *testing.T) {
	counts := objectCounts(t, jobs, secrets, networkPolicies, configMaps, pods)
	before := auditSize(t)
	path := filepath.Join(t.TempDir(), "lab.json.gz")
	code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, "--chunk-size", "5", path)
	if code != cli.ExitOK && code != cli.ExitIncomplete {
		t.Fatalf("snapshot save: exit %d: %s", code, stderr)
	}
	chains := premortemLists(t, before)
	// Everything premortem knows is read, Secrets metadata-only.
	for _, k := range []string{"pods.", "nodes.", "secrets.", "configmaps.", "jobs.batch", "apiservices.apiregistration.k8s.io", "networkpolicies.networking.k8s.io"} {
		if chains[k] == nil {
			t.Errorf("%s not listed", k)
		}
	}
	for k, n := range counts {
		auditlog.Paged(t, chains, k.Resource+"."+k.Group, n)
	}
	// Pods' pages and metadata-only kinds' say their size, so a long
	// chain's pages grow after the first (kube.ListOptions.MaxPageSize):
	// the API server's watch cache visits every object after a page's
	// start for each page.
	for _, k := range []schema.GroupVersionResource{pods, secrets} {
		name := k.Resource + "." + k.Group
		if n := counts[k]; n <= 16*5 {
			t.Errorf("the lab has %d %s: too few for pages of 5 to grow (more than 16 pages)", n, k.Resource)
		} else if c := chains[name]; c != nil && (c.Limit <= 5 || c.Pages >= n/5) {
			t.Errorf("%s: %d objects in %d pages of at most %d: the pages did not grow", name, n, c.Pages, c.Limit)
		}
	}
}

// normalized drops what legitimately differs between two reads of the same
// cluster: where and when they were taken.
func normalized(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("scan -o json output is not JSON: %v\n%s", err, out)
	}
	if info, ok := m["info"].(map[string]any); ok {
		delete(info, "source")
		delete(info, "takenAt")
	}
	return m
}

func TestScanOfSavedSnapshotEqualsLiveScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.json.gz")
	// Ages are measured against one instant for both scans.
	now := "2030-01-01T00:00:00Z"
	code, live, stderr := premortemCLI(t, "scan", "--kubeconfig", cluster.Kubeconfig, "-o", "json", "--now", now)
	if code == cli.ExitError {
		t.Fatalf("live scan: exit %d: %s", code, stderr)
	}
	if c, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, path); c == cli.ExitError {
		t.Fatalf("snapshot save: exit %d: %s", c, stderr)
	}
	// PREMORTEM_SAVE_LAB_SNAPSHOT=FILE keeps the snapshot: examples/ and the
	// CLI's golden tests are scans of it.
	if keep := os.Getenv("PREMORTEM_SAVE_LAB_SNAPSHOT"); keep != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keep, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code2, offline, stderr := premortemCLI(t, "scan", "--snapshot", path, "-o", "json", "--now", now)
	if code2 != code {
		t.Errorf("exit codes differ: live %d, snapshot %d (%s)", code, code2, stderr)
	}
	a, b := normalized(t, live), normalized(t, offline)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("scan of the saved snapshot differs from the live scan:\nlive:     %s\nsnapshot: %s", live, offline)
	}
	if fs, _ := a["findings"].([]any); len(fs) == 0 {
		t.Errorf("no findings at all on a lab with every scenario applied: %s", live)
	}
}

// TestScanReportsUnavailableAPIService: scenario 004 leaves metrics.k8s.io
// unavailable; discovery of that group fails, the scan says so and goes on.
func TestScanReportsUnavailableAPIService(t *testing.T) {
	code, out, stderr := premortemCLI(t, "scan", "--kubeconfig", cluster.Kubeconfig, "-o", "json")
	if code != cli.ExitIncomplete && code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d (incomplete): %s", code, cli.ExitIncomplete, stderr)
	}
	var res struct {
		Info struct {
			DiscoveryFailures []struct{ GroupVersion, Error string } `json:"discoveryFailures"`
		} `json:"info"`
		Ran []string `json:"ran"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range res.Info.DiscoveryFailures {
		found = found || d.GroupVersion == "metrics.k8s.io/v1beta1"
	}
	if !found {
		t.Errorf("discoveryFailures = %+v, want metrics.k8s.io/v1beta1", res.Info.DiscoveryFailures)
	}
	if len(res.Ran) == 0 {
		t.Errorf("no check ran")
	}
}

// TestScanWithoutSecretsPermission: a user who may read everything but
// Secrets gets a scan that says Secrets were not read, reads the rest, and
// exits incomplete.
func TestScanWithoutSecretsPermission(t *testing.T) {
	ctx := context.Background()
	// Everything premortem or any check reads, Secrets excepted.
	byGroup := map[string][]string{}
	want := kube.AllResources()
	for _, c := range checks.All() {
		want = append(want, c.AllReads()...)
	}
	for _, r := range want {
		if r != snapshot.Secrets && !slices.Contains(byGroup[r.Group], r.Resource) {
			byGroup[r.Group] = append(byGroup[r.Group], r.Resource)
		}
	}
	var rules []rbacv1.PolicyRule
	for g, resources := range byGroup {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: resources, Verbs: []string{"get", "list"}})
	}
	const name = "premortem-e2e-no-secrets"
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: name}},
	}
	if _, err := cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := cluster.UserKubeconfig(name)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC changes reach the authorizer through its informers: retry until
	// the new role is in force (only Secrets left unread) or give up.
	var code int
	var out, stderr string
	var skipped []string
	for i := 0; i < 25; i++ {
		code, out, stderr = premortemCLI(t, "scan", "--kubeconfig", kubeconfig, "-o", "json")
		if code == cli.ExitError {
			t.Fatalf("scan: exit %d: %s", code, stderr)
		}
		var res struct {
			Info struct {
				Skipped []struct {
					Resource struct{ Group, Resource string }
					Reason   string
				} `json:"skipped"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		skipped = nil
		for _, s := range res.Info.Skipped {
			skipped = append(skipped, s.Resource.Resource+"."+s.Resource.Group)
			if s.Resource.Resource == "secrets" && !strings.HasPrefix(s.Reason, "forbidden") {
				t.Errorf("secrets skipped for %q, want forbidden", s.Reason)
			}
		}
		if len(skipped) == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != cli.ExitIncomplete {
		t.Errorf("exit %d, want %d (incomplete): %s", code, cli.ExitIncomplete, stderr)
	}
	sort.Strings(skipped)
	if strings.Join(skipped, ",") != "secrets." {
		t.Errorf("skipped = %v, want only secrets", skipped)
	}
}

// TestScanOneNamespace: -n narrows namespaced kinds to that namespace (one
// LIST each, under /namespaces/NAME/) and still reads cluster-scoped kinds
// whole.
func TestScanOneNamespace(t *testing.T) {
	before := auditSize(t)
	code, out, stderr := premortemCLI(t, "scan", "--kubeconfig", cluster.Kubeconfig, "-n", "mw-script", "-o", "json")
	if code == cli.ExitError {
		t.Fatalf("scan -n: exit %d: %s", code, stderr)
	}
	var lists int
	for _, ev := range auditlog.Since(t, cluster.AuditLog, before, "premortem/") {
		if ev.Verb != "list" || ev.ObjectRef == nil {
			continue
		}
		lists++
		switch ev.ObjectRef.Resource {
		case "nodes", "namespaces", "apiservices", "clusterroles", "clusterrolebindings", "flowschemas", "prioritylevelconfigurations", "customresourcedefinitions",
			"validatingwebhookconfigurations", "mutatingwebhookconfigurations", "servicecidrs", "priorityclasses":
			if ev.ObjectRef.Namespace != "" {
				t.Errorf("cluster-scoped %s listed in namespace %q", ev.ObjectRef.Resource, ev.ObjectRef.Namespace)
			}
		default:
			if ev.ObjectRef.Namespace != "mw-script" {
				t.Errorf("%s listed in namespace %q, want mw-script: %s", ev.ObjectRef.Resource, ev.ObjectRef.Namespace, ev.RequestURI)
			}
		}
	}
	if lists == 0 {
		t.Fatal("no LIST by premortem in the audit log")
	}
	// The release-per-run scenario lives in mw-script: its finding remains.
	var res struct {
		Findings []struct{ ID string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range res.Findings {
		found = found || f.ID == "helm-release-per-run"
	}
	if !found {
		t.Errorf("scan -n mw-script lost the helm-release-per-run finding:\n%s", out)
	}
}

// The kubelets' heartbeat Leases in kube-node-lease are not read: no check
// needs them, and on a large cluster they change every 10 seconds each.
// The other Leases are (API server identity, leader election).
func TestSnapshotLeavesOutNodeLeases(t *testing.T) {
	ctx := context.Background()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "premortem-e2e-node", Namespace: corev1.NamespaceNodeLease}}
	if _, err := cluster.Client.CoordinationV1().Leases(lease.Namespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoordinationV1().Leases(lease.Namespace).Delete(context.Background(), lease.Name, metav1.DeleteOptions{})
	})
	before := auditSize(t)
	path := filepath.Join(t.TempDir(), "lab.json.gz")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, path); code != cli.ExitOK && code != cli.ExitIncomplete {
		t.Fatalf("snapshot save: exit %d: %s", code, stderr)
	}
	if c := premortemLists(t, before)["leases.coordination.k8s.io"]; c == nil {
		t.Fatal("leases not listed")
	}
	res, err := kube.Load([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	system := 0
	for _, l := range res.Snapshot.Leases {
		if l.Namespace == corev1.NamespaceNodeLease {
			t.Errorf("saved Lease %s/%s", l.Namespace, l.Name)
		}
		if l.Namespace == metav1.NamespaceSystem {
			system++
		}
	}
	if system == 0 {
		t.Errorf("no Lease of kube-system saved (%d Leases in all)", len(res.Snapshot.Leases))
	}
}
