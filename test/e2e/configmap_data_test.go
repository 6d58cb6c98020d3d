package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/report"
	"github.com/premortem/premortem/lab/scenario"
	"github.com/premortem/premortem/test/e2e/auditlog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// listResponseBytes is the API server's own sum of the bytes of every LIST
// response of resource (apiserver_response_sizes_sum), all scopes.
func listResponseBytes(t *testing.T, resource string) float64 {
	t.Helper()
	raw, err := cluster.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("read API server metrics: %v", err)
	}
	want := regexp.MustCompile(`resource="` + regexp.QuoteMeta(resource) + `".*verb="LIST"`)
	sum := 0.0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_response_sizes_sum{") || !want.MatchString(line) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestScanReadsConfigMapDataByName: a scan lists ConfigMaps metadata-only
// (the LIST responses are smaller than scenario 258's one ConfigMap of
// data) and GETs by name only the ones workloads use: scenario 002's
// kubeconfig, mounted by its Deployment, not scenario 258's state, which no
// workload mounts. The state is still measured in a snapshot file, read
// whole.
func TestScanReadsConfigMapDataByName(t *testing.T) {
	before := auditSize(t)
	listedBefore := listResponseBytes(t, "configmaps")
	res := scanJSON(t, "--chunk-size", "10")
	listed := listResponseBytes(t, "configmaps") - listedBefore
	chains := premortemLists(t, before)
	if chains["configmaps."] == nil || chains["configmaps."].Pages < 2 {
		t.Errorf("configmaps not listed in pages of 10: %+v", chains["configmaps."])
	}
	if listed <= 0 || listed >= scenario.EtcdStateBytes {
		t.Errorf("LIST configmaps answered %.0f bytes: want some, and fewer than the %d of one ConfigMap's data (metadata only)", listed, scenario.EtcdStateBytes)
	}
	got := map[string]bool{}
	for _, ev := range auditlog.Since(t, cluster.AuditLog, before, "premortem/") {
		if ev.Verb == "get" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" {
			got[ev.ObjectRef.Namespace+"/"+ev.ObjectRef.Name] = true
			// From the watch cache, spelled as the LIST's first page.
			if !strings.Contains(ev.RequestURI, "resourceVersion="+kube.FirstPageResourceVersion) {
				t.Errorf("GET not served from the watch cache: %s", ev.RequestURI)
			}
		}
	}
	if !got["tool-checker/checker-kubeconfig"] {
		t.Errorf("the kubeconfig ConfigMap scenario 002's Deployment mounts was not read by name; GETs: %v", got)
	}
	if got["etcd-state/vulnerability-scanner-state"] {
		t.Errorf("the data of a ConfigMap no workload uses was read: %v", got)
	}
	mustFind(t, res, "hardcoded-apiserver-address", "Deployment tool-checker/toolschecker")

	// The same ConfigMaps as a file (kubectl get configmaps -o json).
	l, err := cluster.Client.CoreV1().ConfigMaps("etcd-state").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.APIVersion, l.Kind = "v1", "List"
	for i := range l.Items {
		l.Items[i].APIVersion, l.Items[i].Kind = "v1", "ConfigMap"
	}
	raw, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "configmaps.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := premortemCLI(t, "scan", "--snapshot", path, "-o", "json", "--only", "configmap-near-size-limit")
	if code == cli.ExitError {
		t.Fatalf("scan --snapshot: exit %d: %s", code, stderr)
	}
	var file report.Output
	if err := json.Unmarshal([]byte(out), &file); err != nil {
		t.Fatalf("scan -o json: %v\n%s", err, out)
	}
	f := mustFind(t, file, "configmap-near-size-limit", "ConfigMap etcd-state/vulnerability-scanner-state")
	if ev, _ := json.Marshal(f.Evidence); !strings.Contains(string(ev), fmt.Sprintf(`"bytes":%d`, scenario.EtcdStateBytes+len("state.json"))) {
		t.Errorf("evidence: %s", ev)
	}
}

// TestScanListsANamespaceWithData: where most of a namespace's ConfigMaps
// are wanted (here Helm 2 release records, whose data
// configmap-near-size-limit measures), the scan lists that namespace with
// data, one chain from the watch cache, instead of a GET for each; the data
// it reads that way is checked as a GET's would be.
func TestScanListsANamespaceWithData(t *testing.T) {
	ctx := context.Background()
	const ns = "helm-records"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
	const records = 10
	for i := range records {
		data := "small"
		if i == 3 {
			data = strings.Repeat("x", scenario.EtcdStateBytes) // near 1 MiB
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("db.v%d", i), Namespace: ns,
				Labels: map[string]string{"OWNER": "TILLER", "NAME": "db", "VERSION": strconv.Itoa(i)}},
			Data: map[string]string{"release": data},
		}
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cluster.Client.CoreV1().ConfigMaps(ns).Delete(ctx, cm.Name, metav1.DeleteOptions{}) })
	}
	before := auditSize(t)
	res := scanJSON(t)
	chains := premortemLists(t, before)
	if c := chains["configmaps."]; c == nil || c.Scopes[ns] != 1 {
		t.Errorf("namespace %s not listed with data by one chain: %+v", ns, c)
	}
	for _, ev := range auditlog.Since(t, cluster.AuditLog, before, "premortem/") {
		if ev.Verb == "get" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && ev.ObjectRef.Namespace == ns {
			t.Errorf("GET of a ConfigMap of a namespace listed with data: %s", ev.RequestURI)
		}
	}
	mustFind(t, res, "configmap-near-size-limit", "ConfigMap "+ns+"/db.v3")
}
