package preflight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/preflight"
)

var update = flag.Bool("update", false, "rewrite golden files")

// runCLI runs premortem in-process against the lab.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--kubeconfig", cluster.Kubeconfig)
	code := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func helmConfig(t testing.TB, ns string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig := cluster.Kubeconfig
	flags.KubeConfig, flags.Namespace = &kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testChart(name, version string, templates map[string]string) *chart.Chart {
	c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: name, Version: version}}
	for n, data := range templates {
		c.Templates = append(c.Templates, &chart.File{Name: "templates/" + n, Data: []byte(data)})
	}
	return c
}

func install(t testing.TB, ns, name string, ch *chart.Chart) {
	t.Helper()
	in := action.NewInstall(helmConfig(t, ns))
	in.ReleaseName, in.Namespace, in.CreateNamespace, in.Timeout = name, ns, true, time.Minute
	if _, err := in.RunWithContext(context.Background(), ch, nil); err != nil {
		t.Fatalf("helm install %s: %v", name, err)
	}
}

// render is `helm template`: a client-only dry-run install.
func render(t *testing.T, ns, name string, ch *chart.Chart) string {
	t.Helper()
	in := action.NewInstall(helmConfig(t, ns))
	in.ReleaseName, in.Namespace, in.DryRun, in.ClientOnly, in.Replace = name, ns, true, true, true
	rel, err := in.RunWithContext(context.Background(), ch, nil)
	if err != nil {
		t.Fatalf("helm template %s: %v", name, err)
	}
	return rel.Manifest
}

// Release v1 of "shop": a Namespace with objects in it, a CRD, a volume
// claim bound to a Delete-policy volume, and things that stay.
var shopV1 = map[string]string{
	"namespace.yaml": `apiVersion: v1
kind: Namespace
metadata:
  name: pf-data
---
apiVersion: v1
kind: ConfigMap
metadata: {name: data-settings, namespace: pf-data}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: data-credentials, namespace: pf-data}
stringData: {password: not-printed}
`,
	"crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.pf.example.com
spec:
  group: pf.example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
	"pvc.yaml": `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: pf-pv
  resources: {requests: {storage: 2Gi}}
`,
	"app.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: v1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  selector: {app: web}
`,
}

// Release v2 drops the Namespace, the CRD and the claim.
var shopV2 = map[string]string{
	"app.yaml": shopV1["app.yaml"],
	"extra.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
`,
}

var widgetGVR = schema.GroupVersionResource{Group: "pf.example.com", Version: "v1", Resource: "widgets"}

// setupShop installs shop v1 and what users added around it: objects in
// pf-data that the chart does not know, Widgets, and the volume.
func setupShop(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pf-pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/pf-pv"}},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "pf-shop", Name: "data"},
		},
	}
	if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	install(t, "pf-shop", "shop", testChart("shop", "1.0.0", shopV1))

	for i := range 5 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("user-%d", i), Namespace: "pf-data"}}
		if _, err := cluster.Client.CoreV1().ConfigMaps("pf-data").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "pf-data"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}}}
	if _, err := cluster.Client.CoreV1().Services("pf-data").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The CRD takes a moment to be served.
	for i, ns := range []string{"pf-shop", "pf-shop", "pf-shop", "default"} {
		w := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "pf.example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": fmt.Sprintf("w%d", i), "namespace": ns},
		}}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(widgetGVR).Namespace(ns).Create(ctx, w, metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("create Widget %d: %v", i, err)
		}
	}
}

func deletionsByObject(r *preflight.Report) map[string]preflight.Deletion {
	m := map[string]preflight.Deletion{}
	for _, d := range r.Deletions {
		m[d.Object.String()] = d
	}
	return m
}

var clusterIP = regexp.MustCompile(`\b10\.0\.0\.\d+\b`)

func golden(t *testing.T, name, got string) {
	t.Helper()
	got = clusterIP.ReplaceAllString(got, "<cluster-ip>")
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestHelmUpgradeDeletions is the done-when: a release installed
// with Helm's SDK, a rendering without its Namespace, CRD and claim;
// preflight weighs each and fails; the keep annotation on the Namespace
// takes it out; and a real helm upgrade then deletes exactly what preflight
// said it would.
func TestHelmUpgradeDeletions(t *testing.T) {
	ctx := context.Background()
	setupShop(t)
	dir := t.TempDir()
	rendered := filepath.Join(dir, "v2.yaml")
	if err := os.WriteFile(rendered, []byte(render(t, "pf-shop", "shop", testChart("shop", "2.0.0", shopV2))), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "preflight", "helm", "shop", "-n", "pf-shop", "-f", rendered)
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, cli.ExitFindings, out, errOut)
	}
	golden(t, "helm.table.golden", strings.ReplaceAll(out, dir, "<dir>"))
	if strings.Contains(out, "not-printed") || strings.Contains(errOut, "not-printed") {
		t.Error("Secret data reached the output")
	}

	data, _ := os.ReadFile(rendered)
	offset := auditOffset(t)
	code, out, errOut = runCLI(t, string(data), "preflight", "helm", "shop", "-n", "pf-shop", "-f", "-", "-o", "json")
	if code != cli.ExitFindings {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var r preflight.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	got := deletionsByObject(&r)
	checkCheapReads(t, offset, got)
	ns := got["Namespace/pf-data"]
	// 1 chart ConfigMap + 5 user ConfigMaps, the chart Secret, the user
	// Service: everything inside goes with the namespace.
	if !ns.Dangerous || ns.Objects == nil || *ns.Objects != 8 || ns.Severity.String() != "critical" {
		t.Errorf("Namespace/pf-data: %+v", ns)
	}
	wantContents := map[string]int{"ConfigMap": 6, "Secret": 1, "Service": 1}
	for _, c := range ns.Contents {
		if wantContents[c.Kind] != c.Count {
			t.Errorf("pf-data holds %d %s, want %d", c.Count, c.Kind, wantContents[c.Kind])
		}
		delete(wantContents, c.Kind)
	}
	if len(wantContents) > 0 {
		t.Errorf("pf-data contents missing %v", wantContents)
	}
	crd := got["CustomResourceDefinition.apiextensions.k8s.io/widgets.pf.example.com"]
	if !crd.Dangerous || crd.Objects == nil || *crd.Objects != 4 {
		t.Errorf("CRD: %+v", crd)
	}
	pvc := got["PersistentVolumeClaim/pf-shop/data"]
	if !pvc.Dangerous || pvc.ReclaimPolicy != "Delete" || pvc.Volume != "pf-pv" || pvc.Capacity != "2Gi" || pvc.Severity.String() != "critical" {
		t.Errorf("PVC: %+v", pvc)
	}
	for _, k := range []string{"ConfigMap/pf-data/data-settings", "Secret/pf-data/data-credentials"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s not reported", k)
		}
	}
	if _, ok := got["ConfigMap/pf-shop/settings"]; ok {
		t.Error("settings stays in v2 but is reported deleted")
	}
	if len(r.Creations) != 1 || r.Creations[0].Kind != "ConfigMap" || r.Creations[0].Count != 1 {
		t.Errorf("creations = %+v, want 1 ConfigMap", r.Creations)
	}
	if r.Release == nil || r.Release.Revision != 1 || r.Release.Chart != "shop" {
		t.Errorf("release = %+v", r.Release)
	}

	// Keep the namespace the way Helm documents it: on the live object.
	patch := []byte(`{"metadata":{"annotations":{"helm.sh/resource-policy":"keep"}}}`)
	if _, err := cluster.Client.CoreV1().Namespaces().Patch(ctx, "pf-data", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "", "preflight", "helm", "shop", "-n", "pf-shop", "-f", rendered, "-o", "json")
	r = preflight.Report{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("json: %v\n%s\n%s", err, out, errOut)
	}
	ns = deletionsByObject(&r)["Namespace/pf-data"]
	if ns.Status != preflight.StatusKept || ns.Dangerous {
		t.Errorf("kept namespace: %+v", ns)
	}
	if code != cli.ExitFindings {
		t.Errorf("exit %d: the CRD and the claim still go", code)
	}

	// Accept the rest: nothing dangerous remains.
	code, out, errOut = runCLI(t, "", "preflight", "helm", "shop", "-n", "pf-shop", "-f", rendered,
		"--allow", "crd/widgets.pf.example.com", "--allow", "pvc/pf-shop/data",
		"--allow", "Secret/pf-data/data-credentials")
	if code != cli.ExitOK {
		t.Fatalf("with --allow: exit %d\n%s\n%s", code, out, errOut)
	}

	// The real upgrade: what Helm deletes is what preflight predicted.
	up := action.NewUpgrade(helmConfig(t, "pf-shop"))
	up.Namespace, up.Timeout = "pf-shop", time.Minute
	if _, err := up.RunWithContext(ctx, "shop", testChart("shop", "2.0.0", shopV2), nil); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	dyn, _ := dynamic.NewForConfig(cluster.Config)
	for _, d := range r.Deletions {
		gvr := map[string]schema.GroupVersionResource{
			"Namespace":                {Version: "v1", Resource: "namespaces"},
			"ConfigMap":                {Version: "v1", Resource: "configmaps"},
			"Secret":                   {Version: "v1", Resource: "secrets"},
			"PersistentVolumeClaim":    {Version: "v1", Resource: "persistentvolumeclaims"},
			"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
		}[d.Kind]
		live, err := dyn.Resource(gvr).Namespace(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		deleted := apierrors.IsNotFound(err) || (err == nil && live.GetDeletionTimestamp() != nil)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("get %s: %v", d.Object, err)
		}
		if wantDeleted := d.Status != preflight.StatusKept; deleted != wantDeleted {
			t.Errorf("%s: preflight said %s, after helm upgrade deleted=%v", d.Object, d.Status, deleted)
		}
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps("pf-shop").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("settings after upgrade: %v", err)
	}
}

func TestHelmErrors(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pf-errors"}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A Secret dressed as a release record whose data is not a release.
	bogus := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.bogus.v1", Namespace: "pf-errors",
			Labels: map[string]string{"owner": "helm", "name": "bogus", "status": "deployed", "version": "1"}},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": []byte("H4sIAAAAAAAA/wMAAAAAAAAAAAA=")},
	}
	if _, err := cluster.Client.CoreV1().Secrets("pf-errors").Create(ctx, bogus, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644)
	os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: x\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b: c\n"), 0o644)

	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{name: "unknown release", args: []string{"nope", "-n", "pf-errors", "-f", good}, code: cli.ExitError,
			wantErr: `release "nope" not found in namespace "pf-errors"`},
		{name: "manifest does not parse", args: []string{"nope", "-n", "pf-errors", "-f", bad}, code: cli.ExitError,
			wantErr: "bad.yaml:9:"},
		{name: "not a release", args: []string{"bogus", "-n", "pf-errors", "-f", good}, code: cli.ExitError,
			wantErr: "Secret pf-errors/sh.helm.release.v1.bogus.v1 is not a Helm release"},
		{name: "first install", args: []string{"nope", "-n", "pf-errors", "-f", good, "--install"}, code: cli.ExitOK},
		{name: "unknown driver", args: []string{"nope", "-n", "pf-errors", "-f", good, "--helm-driver", "sql"}, code: cli.ExitError,
			wantErr: `helm storage driver "sql"`},
		{name: "bad allow", args: []string{"nope", "-n", "pf-errors", "-f", good, "--allow", "justaname"}, code: cli.ExitError,
			wantErr: "want KIND/NAME"},
		{name: "no -f", args: []string{"nope", "-n", "pf-errors"}, code: cli.ExitError, wantErr: "-f is required"},
		{name: "bad output", args: []string{"nope", "-n", "pf-errors", "-f", good, "-o", "yaml"}, code: cli.ExitError, wantErr: `--output "yaml": want table, wide or json`},
		{name: "missing file", args: []string{"nope", "-n", "pf-errors", "-f", good + ".missing"}, code: cli.ExitError, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"preflight", "helm"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)\n%s", code, tt.code, errOut, tt.wantErr, out)
			}
		})
	}
}

// checkCheapReads holds preflight to DESIGN.md's read rules, from the API
// server's own audit log: every LIST paginated, its first page from the
// watch cache but for the release's records, read fresh (auditlog.Lists);
// Secrets are read only as the release record
// or, through the metadata client, as a deletion to weigh (the audit log
// cannot tell a metadata GET from a full one, so the second part rests on
// the code).
func checkCheapReads(t *testing.T, offset int64, weighed map[string]preflight.Deletion) {
	t.Helper()
	events, chains := premortemReads(t, offset)
	for kind, c := range chains {
		// Only the release's own records are read fresh, once.
		if c.Consistent > 0 && (c.Consistent > 1 || kind != "secrets." && kind != "configmaps.") {
			t.Errorf("%s: %d chains began with a consistent read, want at most the release records' one", kind, c.Consistent)
		}
	}
	counts := map[string]int{}
	for _, ev := range events {
		counts[ev.Verb]++
		if ev.Verb == "get" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "secrets" &&
			!strings.HasPrefix(ev.ObjectRef.Name, "sh.helm.release.v1.") &&
			weighed["Secret/"+ev.ObjectRef.Namespace+"/"+ev.ObjectRef.Name].Kind == "" {
			t.Errorf("read a Secret that is not a release record: %s", ev.RequestURI)
		}
	}
	if counts["list"] == 0 || counts["get"] == 0 {
		t.Fatalf("no premortem requests in the audit log: %v", counts)
	}
	t.Logf("preflight helm made %d requests: %v", len(events), counts)
}

// TestNamespaceWithUnavailableAPI is incident 004's other half: with an
// aggregated API unavailable, the namespace controller cannot finish
// deleting a namespace. Preflight says so, and says the count is partial.
func TestNamespaceWithUnavailableAPI(t *testing.T) {
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	apiServices := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	// metrics-server registered, its Service missing: unavailable.
	svc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service": map[string]any{"namespace": "kube-system", "name": "metrics-server"},
		},
	}}
	if _, err := dyn.Resource(apiServices).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dyn.Resource(apiServices).Delete(context.Background(), "v1beta1.metrics.k8s.io", metav1.DeleteOptions{})
	})

	ch := testChart("team", "1.0.0", map[string]string{"ns.yaml": `apiVersion: v1
kind: Namespace
metadata: {name: pf-team-a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: team-settings, namespace: pf-team-a}
`})
	install(t, "pf-team", "team", ch)
	rendered := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(rendered, nil, 0o644)

	var r preflight.Report
	// The aggregator needs a moment to mark the APIService unavailable.
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		code, out, errOut := runCLI(t, "", "preflight", "helm", "team", "-n", "pf-team", "-f", rendered, "-o", "json")
		if code != cli.ExitFindings {
			return false, fmt.Errorf("exit %d: %s", code, errOut)
		}
		r = preflight.Report{}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return false, err
		}
		return len(r.Incomplete) > 0, nil
	})
	if err != nil {
		t.Fatalf("%v: %+v", err, r)
	}
	ns := deletionsByObject(&r)["Namespace/pf-team-a"]
	if !ns.Dangerous || ns.Objects == nil || *ns.Objects != 1 {
		t.Errorf("namespace: %+v", ns)
	}
	if !strings.Contains(strings.Join(ns.Notes, " "), "metrics.k8s.io/v1beta1") || !strings.Contains(strings.Join(r.Incomplete, " "), "metrics.k8s.io/v1beta1") {
		t.Errorf("notes %q, incomplete %q: want metrics.k8s.io/v1beta1 named", ns.Notes, r.Incomplete)
	}
}

// TestConfigMapStorage reads a release Helm stored with HELM_DRIVER=configmap.
func TestConfigMapStorage(t *testing.T) {
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig, ns := cluster.Kubeconfig, "pf-cm"
	flags.KubeConfig, flags.Namespace = &kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "configmap", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.CreateNamespace = "cm", ns, true
	ch := testChart("cm", "1.0.0", map[string]string{"svc.yaml": `apiVersion: v1
kind: Service
metadata: {name: api}
spec: {type: LoadBalancer, ports: [{port: 443}]}
`})
	if _, err := in.RunWithContext(context.Background(), ch, nil); err != nil {
		t.Fatal(err)
	}
	rendered := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(rendered, nil, 0o644)
	code, out, errOut := runCLI(t, "", "preflight", "helm", "cm", "-n", ns, "-f", rendered, "--helm-driver", "configmaps")
	if code != cli.ExitFindings || !strings.Contains(out, "high      delete!  Service/pf-cm/api") || !strings.Contains(out, "LoadBalancer") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// With the default (Secret) storage the release is unknown.
	if code, _, errOut := runCLI(t, "", "preflight", "helm", "cm", "-n", ns, "-f", rendered); code != cli.ExitError || !strings.Contains(errOut, "not found") {
		t.Errorf("secret storage: exit %d %s", code, errOut)
	}
}

// TestIncompleteWithoutRBAC: a user who may read the release records but
// not the objects to be deleted gets exit 3 and a list of what was not
// read, never a clean report.
func TestIncompleteWithoutRBAC(t *testing.T) {
	ctx := context.Background()
	const ns = "pf-rbac"
	install(t, ns, "rbac", testChart("rbac", "1.0.0", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\n"}))
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "release-reader", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}}
	if _, err := cluster.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "release-reader", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "release-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "pf-reader"}}}
	if _, err := cluster.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := cluster.UserKubeconfig("pf-reader")
	if err != nil {
		t.Fatal(err)
	}
	rendered := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(rendered, nil, 0o644)
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, []string{"preflight", "helm", "rbac", "-n", ns, "-f", rendered, "--kubeconfig", kubeconfig},
		cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if s := out.String(); code != cli.ExitIncomplete || !strings.Contains(s, "NOT READ") || !strings.Contains(s, "get ConfigMap/pf-rbac/old") || !strings.Contains(s, "INCOMPLETE") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, cli.ExitIncomplete, out.String(), errOut.String())
	}
	t.Logf("\n%s", out.String())
}
