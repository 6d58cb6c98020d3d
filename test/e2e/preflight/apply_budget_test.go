package preflight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/preflight"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// TestApplyPrune follows kubectl's prune rules: only objects created by
// kubectl apply (last-applied annotation), matching the selector, of the
// allowlisted kinds, in the namespaces FILES touch, and absent from FILES.
func TestApplyPrune(t *testing.T) {
	ctx := context.Background()
	const ns = "pf-apply"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	applied := map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	label := map[string]string{"app": "pf"}
	meta := func(name string, labels, annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: annotations}
	}
	cms := []*corev1.ConfigMap{
		{ObjectMeta: meta("kept-in-files", label, applied)},
		{ObjectMeta: meta("dropped", label, applied)},
		{ObjectMeta: meta("not-applied", label, nil)},                           // created by kubectl create: never pruned
		{ObjectMeta: meta("other-app", map[string]string{"app": "x"}, applied)}, // selector excludes it
	}
	for _, cm := range cms {
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta("token", label, applied)}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: meta("api", label, applied), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}}
	if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Same labels, another namespace FILES do not touch: out of scope.
	if _, err := cluster.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Labels: label, Annotations: applied}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(t.TempDir(), "app.yaml")
	os.WriteFile(files, []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept-in-files, namespace: %s, labels: {app: pf}}\n", ns)), 0o644)

	// Pages of 2: the three ConfigMaps the selector matches take two.
	offset := auditOffset(t)
	code, out, errOut := runCLI(t, "", "preflight", "apply", "-f", files, "--prune", "-l", "app=pf", "-o", "json", "--chunk-size", "2")
	if code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, cli.ExitFindings, out, errOut)
	}
	_, chains := premortemReads(t, offset)
	auditlog.Paged(t, chains, "configmaps.", 3)
	var r preflight.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range r.Deletions {
		got = append(got, fmt.Sprintf("%s dangerous=%v", d.Object, d.Dangerous))
	}
	sort.Strings(got)
	want := []string{
		"ConfigMap/pf-apply/dropped dangerous=false",
		"Secret/pf-apply/token dangerous=true",
		"Service/pf-apply/api dangerous=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("prune would delete:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// --prune-allowlist narrows the kinds, as in kubectl.
	code, out, _ = runCLI(t, "", "preflight", "apply", "-f", files, "--prune", "-l", "app=pf", "--prune-allowlist", "core/v1/ConfigMap")
	if code != cli.ExitOK || !strings.Contains(out, "ConfigMap/pf-apply/dropped") || strings.Contains(out, "Secret/") {
		t.Errorf("allowlist ConfigMap only: exit %d\n%s", code, out)
	}
	// Without --prune there is nothing to weigh.
	if code, _, errOut := runCLI(t, "", "preflight", "apply", "-f", files); code != cli.ExitError || !strings.Contains(errOut, "--prune is required") {
		t.Errorf("no --prune: exit %d %s", code, errOut)
	}
}

// TestReleaseBudget is incident 001: one release per run. Twenty-one
// releases of the same chart are in the namespace; preflighting the next
// one warns, with what each adds, found by the objects' labels, or by
// decoding the release records when the chart sets no labels.
func TestReleaseBudget(t *testing.T) {
	perRun := func(labelled bool) map[string]string {
		labels := ""
		if labelled {
			labels = `
  labels: {helm.sh/chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"}`
		}
		return map[string]string{"run.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}` + labels + `
spec: {podSelector: {}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-env` + labels + `
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}` + labels + `
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: script:1}]
`}
	}
	for _, tc := range []struct {
		ns       string
		labelled bool
		method   string
	}{
		{ns: "pf-runs", labelled: true, method: "labels"},
		{ns: "pf-runs-unlabelled", labelled: false, method: "release records"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			ch := testChart("mwscript", "0.1.2", perRun(tc.labelled))
			for i := range 21 {
				install(t, tc.ns, fmt.Sprintf("run-%02d", i), ch)
			}
			// A release of another chart is not counted.
			install(t, tc.ns, "other", testChart("other", "1.0.0", perRun(tc.labelled)))
			rendered := filepath.Join(t.TempDir(), "next.yaml")
			os.WriteFile(rendered, []byte(render(t, tc.ns, "run-next", ch)), 0o644)

			// Pages of 5: the 22 release records and the 22 objects of
			// each kind the releases created take five each.
			offset := auditOffset(t)
			code, out, errOut := runCLI(t, "", "preflight", "helm", "run-next", "-n", tc.ns, "-f", rendered, "--install", "-o", "json", "--chunk-size", "5")
			if code != cli.ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			_, chains := premortemReads(t, offset)
			for _, k := range []string{"secrets.", "networkpolicies.networking.k8s.io", "configmaps.", "jobs.batch"} {
				auditlog.Paged(t, chains, k, 22)
			}
			var r preflight.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			cr := r.ChartReleases
			if cr == nil || cr.OtherReleases != 22 || cr.SameChart != 21 || cr.Method != tc.method || cr.Chart != "mwscript" {
				t.Fatalf("chart releases: %+v", cr)
			}
			if !strings.Contains(cr.Warning, "21 releases of chart mwscript") || !strings.Contains(cr.Warning, "1 NetworkPolicy") {
				t.Errorf("warning = %q", cr.Warning)
			}
			if len(r.Creations) != 3 {
				t.Errorf("creations = %+v, want NetworkPolicy, ConfigMap, Job", r.Creations)
			}
			// Under the threshold: no warning, and no chart lookup.
			code, out, _ = runCLI(t, "", "preflight", "helm", "run-next", "-n", tc.ns, "-f", rendered, "--install", "--release-threshold", "30")
			if code != cli.ExitOK || strings.Contains(out, "WARNINGS\n- namespace") {
				t.Errorf("threshold 30: exit %d\n%s", code, out)
			}
		})
	}
}
