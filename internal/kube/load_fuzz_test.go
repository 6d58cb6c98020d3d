package kube

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds the snapshot loader hostile files: JSON, YAML, and gzip.
// It must never panic nor pass its maxima, and gzip must change nothing
// but the reading: the same content loads the same, compressed or not.
//
//	go test ./internal/kube -run '^$' -fuzz '^FuzzLoad$' -fuzztime 30s
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/list.yaml", "testdata/multi.yaml", "testdata/podlist.json", "testdata/bad.json", "testdata/badfield.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"kind":"List","items":[` + "      " + `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]}`))
	f.Add([]byte(`{"items":[{"metadata":{"name":"a"}}],"kind":"NamespaceList","apiVersion":"v1"}`))
	f.Add([]byte(`[{"apiVersion":"v1","kind":"List","items":[]},{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}]`))
	f.Add([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n--- \n---\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	lim := Limits{Document: 8 << 10, Item: 2 << 10, Input: 32 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		plain := filepath.Join(dir, "in.json")
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		gz := filepath.Join(dir, "in.json.gz")
		raw := filepath.Join(dir, "raw.yaml.gz") // the bytes as a gzip stream
		for p, b := range map[string][]byte{plain: data, gz: z.Bytes(), raw: data} {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		a, errA := LoadVisit([]string{plain}, nil, nil, nil, lim)
		b, errB := LoadVisit([]string{gz}, nil, nil, nil, lim)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("plain: %v; gzip: %v", errA, errB)
		}
		if errA == nil && (a.Objects != b.Objects || len(a.Problems) != len(b.Problems) || a.HasInfo != b.HasInfo) {
			t.Fatalf("plain: %d objects, problems %v; gzip: %d objects, problems %v", a.Objects, a.Problems, b.Objects, b.Problems)
		}
		LoadVisit([]string{raw}, nil, nil, nil, lim)
		// Items past a small maximum are skipped, never misread: the
		// skipping can lose objects, never find more.
		c, errC := LoadVisit([]string{plain}, nil, nil, nil, Limits{})
		s, errS := LoadVisit([]string{plain}, nil, nil, nil, Limits{Item: 64})
		if errC == nil && len(c.Problems) == 0 && errS == nil && s.Objects > c.Objects {
			t.Fatalf("with a 64-byte item maximum %d objects, problems %v; without, %d", s.Objects, s.Problems, c.Objects)
		}
	})
}
