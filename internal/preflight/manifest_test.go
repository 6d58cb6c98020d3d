package preflight

import (
	"errors"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	helmTemplate := `---
# Source: shop/templates/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop-data
  annotations:
    helm.sh/resource-policy: keep
---
# Source: shop/templates/empty.yaml
# everything in this template is behind an if
---
# Source: shop/templates/crd.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
---
# Source: shop/templates/hook.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
  labels: {helm.sh/chart: shop-1.2.0}
  annotations: {helm.sh/hook: pre-upgrade}
`
	tests := []struct {
		name, data string
		want       []string // Object.String() @ Source
		wantErr    string
	}{
		{name: "helm template", data: helmTemplate, want: []string{
			"Namespace/shop-data @ t.yaml:3",
			"CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com @ t.yaml:14",
			"Job.batch/shop/migrate @ t.yaml:24",
		}},
		{name: "list expanded", data: `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}
- {apiVersion: v1, kind: Secret, metadata: {name: b}}
`, want: []string{"ConfigMap/x/a @ t.yaml:1", "Secret/b @ t.yaml:1"}},
		{name: "json", data: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"}}`,
			want: []string{"Service/shop/web @ t.yaml:1"}},
		{name: "empty", data: "---\n# nothing\n---\n\n", want: nil},
		{name: "bad yaml names the line", data: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n  x: y: z\n",
			wantErr: "t.yaml:"},
		{name: "no kind", data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n",
			wantErr: "t.yaml:5: object has no apiVersion or kind"},
		{name: "no name", data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", wantErr: "t.yaml:1: ConfigMap has no metadata.name"},
		{name: "scalar document", data: "just a string\n", wantErr: "t.yaml:1: not an object"},
		{name: "bad apiVersion", data: "apiVersion: a/b/c\nkind: X\nmetadata: {name: n}\n", wantErr: `t.yaml:1: apiVersion "a/b/c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := ParseManifest("t.yaml", []byte(tt.data))
			if tt.wantErr != "" {
				var pe *ParseError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a ParseError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.String()+" @ "+o.Source)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseManifestLineOfYAMLError(t *testing.T) {
	// The broken mapping is on line 9 of the stream (line 4 of the second
	// document): the error must point there, not at the document.
	data := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b: c\n"
	_, err := ParseManifest("r.yaml", []byte(data))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want ParseError", err)
	}
	if pe.Line != 9 {
		t.Errorf("line = %d, want 9 (%v)", pe.Line, err)
	}
}

func TestObjectFlags(t *testing.T) {
	objs, err := ParseManifest("t", []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations: {helm.sh/resource-policy: " keep", helm.sh/hook: post-install}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !objs[0].Keep() || !objs[0].Hook() {
		t.Errorf("Keep=%v Hook=%v, want both", objs[0].Keep(), objs[0].Hook())
	}
}
