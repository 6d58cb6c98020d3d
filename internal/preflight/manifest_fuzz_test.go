package preflight

import "testing"

// FuzzParseManifest: manifests come from files and Helm release records;
// parsing never panics, whatever the YAML or JSON.
//
//	go test ./internal/preflight -run '^$' -fuzz '^FuzzParseManifest$' -fuzztime 30s
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"},null,1]}`))
	f.Add([]byte("a: &a [*a, *a]\n---\n---\n"))
	f.Add([]byte("kind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseManifest("fuzz.yaml", data)
	})
}
