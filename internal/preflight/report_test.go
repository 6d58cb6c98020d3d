package preflight

import (
	"bytes"
	"testing"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/golden"
)

func intp(n int) *int { return &n }

// sampleReport is an upgrade that drops a namespace, a CRD and a volume
// claim, keeps one namespace by annotation and has one deletion allowed.
func sampleReport() *Report {
	r := &Report{
		Kind: "helm", Namespace: "shop",
		Release: &ReleaseInfo{Name: "shop", Namespace: "shop", Revision: 3, Status: "deployed", Chart: "shop", ChartVersion: "1.2.0", Record: "sh.helm.release.v1.shop.v3"},
		Deletions: []Deletion{
			{Object: Object{Kind: "Namespace", Name: "shop-data"}, Status: StatusDelete, Severity: check.Critical, Dangerous: true,
				Summary:  "Namespace with 7 objects, all deleted with it: 4 ConfigMap, 2 Secret, 1 Deployment",
				Contents: []KindCount{{Kind: "ConfigMap", Count: 4}, {Kind: "Secret", Count: 2}, {Group: "apps", Kind: "Deployment", Count: 1}}, Objects: intp(7)},
			{Object: Object{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}, Status: StatusDelete, Severity: check.Critical, Dangerous: true,
				Summary: "CustomResourceDefinition: its 5 Widget (in 2 namespaces) are deleted with it", Contents: []KindCount{{Group: "example.com", Kind: "Widget", Count: 5}}, Objects: intp(5)},
			{Object: Object{Kind: "PersistentVolumeClaim", Namespace: "shop", Name: "data"}, Status: StatusDelete, Severity: check.Critical, Dangerous: true,
				Summary:       "PersistentVolumeClaim: volume pv-data, 1Gi has reclaim policy Delete; its data is destroyed",
				ReclaimPolicy: "Delete", Volume: "pv-data", Capacity: "1Gi", Notes: []string{"pvc-protection holds the deletion until no pod uses the claim, then it completes"}},
			{Object: Object{Kind: "Service", Namespace: "shop", Name: "legacy"}, Status: StatusAllowed, Severity: check.Medium,
				Summary: "Service (ClusterIP 10.0.0.12): clients of its name and address lose it", ServiceType: "ClusterIP", Notes: []string{"accepted by --allow"}},
			{Object: Object{Kind: "Namespace", Name: "shop-archive"}, Status: StatusKept, Severity: check.Info, Summary: "helm.sh/resource-policy: keep; Helm leaves it in place"},
			{Object: Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "worker"}, Status: StatusDelete, Severity: check.Low, Summary: "deleted with the release change"},
		},
		Creations: []KindCount{{Kind: "ConfigMap", Count: 2}, {Group: "networking.k8s.io", Kind: "NetworkPolicy", Count: 1}},
		ChartReleases: &ChartReleases{Chart: "shop", Namespace: "shop", OtherReleases: 250, SameChart: 250, Method: "labels", Threshold: 20,
			PerRelease: []KindCount{{Kind: "ConfigMap", Count: 2}, {Group: "networking.k8s.io", Kind: "NetworkPolicy", Count: 1}},
			Existing:   []KindCount{{Kind: "ConfigMap", Count: 501}, {Group: "networking.k8s.io", Kind: "NetworkPolicy", Count: 250}},
			Warning:    "namespace shop already holds 250 releases of chart shop; each adds 2 ConfigMap, 1 NetworkPolicy (incident 001: one release per run multiplied NetworkPolicies until Calico fell over)"},
		Incomplete: []string{"namespace shop-data: objects of metrics.k8s.io/v1beta1 not counted (discovery failed)"},
	}
	r.finish()
	return r
}

func TestReportGolden(t *testing.T) {
	r := sampleReport()
	if r.Dangerous != 3 {
		t.Fatalf("Dangerous = %d, want 3", r.Dangerous)
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/report.table.golden", table.Bytes())
	if err := Write(&js, "json", r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/report.json.golden", js.Bytes())

	clean := &Report{Kind: "apply", Namespace: "shop", Applied: []KindCount{{Kind: "ConfigMap", Count: 1}}}
	clean.finish()
	table.Reset()
	if err := WriteTable(&table, clean); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/clean.table.golden", table.Bytes())
}
