// Package helm holds premortem's Helm chart (premortem/) and its tests:
// the Helm SDK's lint, values.schema.json rejecting mistyped values, and
// what the chart renders (restricted Pod Security, the generated read-only
// ClusterRole, the Prometheus Operator's kinds only when asked for and
// served). test/e2e/chart installs it into a lab.
package helm

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/rbac"
)

var chartDir = "premortem"

// userValues are what a user would set.
const userValues = `
image: {tag: v1.2.3}
agent: {interval: 2m, skip: [object-growth], verbosity: 1}
resources: {limits: {memory: 2Gi}}
goMemLimit: 1600MiB
serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
prometheusRule: {enabled: true}
nodeSelector: {kubernetes.io/os: linux}
`

func values(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLint: the Helm SDK's lint, with the defaults and with user values,
// finds nothing at warning level or above.
func TestLint(t *testing.T) {
	for _, v := range []string{"", userValues} {
		l := lint.All(chartDir, values(t, v), "premortem", false)
		for _, m := range l.Messages {
			t.Logf("lint: %s", m)
			if m.Severity >= support.WarningSev {
				t.Errorf("lint: %s", m)
			}
		}
	}
}

// TestSchema: values.schema.json accepts the defaults and what a user
// would set, and rejects unknown keys and mistyped values.
func TestSchema(t *testing.T) {
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"", userValues} {
		if err := chartutil.ValidateAgainstSchema(c, values(t, ok)); err != nil {
			t.Errorf("values %q rejected: %v", ok, err)
		}
	}
	for _, tc := range []struct{ values, want string }{
		{"agnet: {interval: 1m}", "agnet"},                // misspelt key
		{"agent: {intervall: 1m}", "intervall"},           // misspelt nested key
		{"agent: {interval: 60}", "interval"},             // number, not a duration
		{"agent: {interval: 1 minute}", "interval"},       // not a Go duration
		{"agent: {only: object-growth}", "only"},          // string, not a list
		{"image: {pullPolicy: Sometimes}", "pullPolicy"},  // not an enum value
		{"resources: {limits: {memroy: 1Gi}}", "memroy"},  // misspelt resource
		{"resources: {limits: {memory: 1 GB}}", "memory"}, // not a quantity
		{"service: {port: \"8080\"}", "port"},             // string, not an integer
		{"serviceMonitor: {enabled: \"yes\"}", "enabled"}, // string, not a boolean
		{"podDisruptionBudget: {enable: true}", "enable"}, // misspelt
		{"image: {digest: latest}", "digest"},             // not a digest
		{"agent: {verbosity: 5}", "verbosity"},            // out of range
		{"goMemLimit: 800M", "goMemLimit"},                // Go wants MiB
	} {
		err := chartutil.ValidateAgainstSchema(c, values(t, tc.values))
		if err == nil {
			t.Errorf("values %q accepted", tc.values)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %q: error does not name %q: %v", tc.values, tc.want, err)
		}
	}
}

// render renders the chart as `helm template` would, with the API
// versions the cluster serves.
func render(t *testing.T, v string, apiVersions ...string) []*unstructured.Unstructured {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(&action.Configuration{})
	in.DryRun, in.ClientOnly, in.Replace = true, true, true
	in.ReleaseName, in.Namespace = "premortem", "monitoring"
	in.APIVersions = chartutil.VersionSet(apiVersions)
	rel, err := in.Run(c, values(t, v))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, rel.Manifest)
}

func decode(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind())
	}
	slices.Sort(out)
	return out
}

// TestRender: the objects the chart creates, by values and by what the
// cluster serves. Never an APIService, a webhook or a CRD; a PDB only
// when asked for.
func TestRender(t *testing.T) {
	base := []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"}
	for _, tc := range []struct {
		name, values string
		apis         []string
		want         []string
	}{
		{"defaults", "", nil, base},
		{"defaults, operator served", "", []string{"monitoring.coreos.com/v1"}, base},
		{"monitoring asked, not served", userValues, nil, base},
		{"monitoring asked and served", userValues, []string{"monitoring.coreos.com/v1"},
			append(slices.Clone(base), "PrometheusRule", "ServiceMonitor")},
		{"pdb asked", "podDisruptionBudget: {enabled: true}", nil, append(slices.Clone(base), "PodDisruptionBudget")},
	} {
		objs := render(t, tc.values, tc.apis...)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if got := kinds(objs); !slices.Equal(got, want) {
			t.Errorf("%s: kinds %v, want %v", tc.name, got, want)
		}
	}
}

// TestPrometheusRule: the rendered rule groups are
// deploy/prometheus/premortem-rules.yaml's.
func TestPrometheusRule(t *testing.T) {
	var want map[string]any
	data := readFile(t, filepath.Join("..", "prometheus", "premortem-rules.yaml"))
	if err := yaml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for _, o := range render(t, userValues, "monitoring.coreos.com/v1") {
		if o.GetKind() != "PrometheusRule" {
			continue
		}
		got, _ := yaml.Marshal(o.Object["spec"])
		w, _ := yaml.Marshal(want)
		if !bytes.Equal(got, w) {
			t.Errorf("PrometheusRule spec differs from premortem-rules.yaml")
		}
		return
	}
	t.Fatal("no PrometheusRule rendered")
}

// TestPodSecurity: the Deployment meets the restricted Pod Security
// Standard, runs the agent with the values' flags, and sizes resources
// from values.yaml.
func TestPodSecurity(t *testing.T) {
	for _, o := range render(t, userValues) {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		data, _ := yaml.Marshal(o.Object)
		if err := yaml.UnmarshalStrict(data, &d); err != nil {
			t.Fatal(err)
		}
		pod := d.Spec.Template.Spec
		if ps := pod.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot ||
			ps.SeccompProfile == nil || ps.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("pod securityContext %+v: want runAsNonRoot and RuntimeDefault seccomp", ps)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers", len(pod.Containers))
		}
		c := pod.Containers[0]
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container securityContext %+v: want read-only root, no escalation, drop ALL", sc)
		}
		if c.Image != "ghcr.io/premortem/premortem:v1.2.3" {
			t.Errorf("image %q", c.Image)
		}
		wantArgs := []string{"agent", "--listen=:8080", "--interval=2m", "--top-namespaces=5", "--skip=object-growth", "-v"}
		if !slices.Equal(c.Args, wantArgs) {
			t.Errorf("args %q, want %q", c.Args, wantArgs)
		}
		if got := c.Resources.Limits.Memory().String(); got != "2Gi" {
			t.Errorf("memory limit %s, want 2Gi", got)
		}
		if len(pod.Volumes) > 0 {
			t.Errorf("volumes %v: the agent writes no file", pod.Volumes)
		}
		return
	}
	t.Fatal("no Deployment rendered")
}

// TestClusterRole: the chart's ClusterRole grants exactly the generated
// read rules (list and watch), no write verb.
func TestClusterRole(t *testing.T) {
	for _, o := range render(t, "") {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		var r rbacv1.ClusterRole
		data, _ := yaml.Marshal(o.Object)
		if err := yaml.UnmarshalStrict(data, &r); err != nil {
			t.Fatal(err)
		}
		want := rbac.Rules(checks.All())
		got, _ := yaml.Marshal(r.Rules)
		w, _ := yaml.Marshal(want)
		if !bytes.Equal(got, w) {
			t.Errorf("rules differ from rbac.Rules:\n%s\nwant:\n%s", got, w)
		}
		for _, rule := range r.Rules {
			for _, v := range rule.Verbs {
				if !slices.Contains(rbac.AllowedVerbs, v) {
					t.Errorf("verb %q on %v", v, rule.Resources)
				}
			}
		}
		return
	}
	t.Fatal("no ClusterRole rendered")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
