package kube

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadGzipWhitespace loads gzip'd JSON holding one long run of
// spaces, doubling its length: time per op doubles with it (linear), where
// 32 KiB reads from the decompressor once made it quadratic (32 MiB: 11 s).
//
//	go test ./internal/kube -run '^$' -bench LoadGzipWhitespace -benchtime 3x
func BenchmarkLoadGzipWhitespace(b *testing.B) {
	for _, mib := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			content := `{"apiVersion":"v1","kind":"List","items":[` + strings.Repeat(" ", mib<<20) +
				`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]}`
			path := gzipFile(b, "spaces.json.gz", []byte(content))
			b.SetBytes(int64(len(content)))
			b.ResetTimer()
			for b.Loop() {
				r, err := Load([]string{path}, nil)
				if err != nil || r.Objects != 1 || len(r.Problems) > 0 {
					b.Fatalf("err %v, objects %d, problems %v", err, r.Objects, r.Problems)
				}
			}
		})
	}
}
