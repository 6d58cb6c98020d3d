package preflight_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/preflight"
)

// BenchmarkPreflightLargeNamespace weighs the deletion of a namespace that
// holds 5,000 ConfigMaps and 1,000 Secrets (each with 1 KiB of data, never
// read): one metadata-only paginated LIST per kind. It reports requests and
// bytes received per preflight.
//
//	go test ./test/e2e/preflight -run '^$' -bench LargeNamespace -benchtime 5x
func BenchmarkPreflightLargeNamespace(b *testing.B) {
	ctx := context.Background()
	const ns = "pf-bench"
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		install(b, "pf-bench-rel", "bench", testChart("bench", "1.0.0", map[string]string{"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: pf-bench}\n"}))
		fill(b, ns)
	}
	counter := &kube.Counter{}
	c, err := preflight.NewCluster(kube.Configure(cluster.Config, kube.ClientOptions{UserAgent: "premortem-bench", Counter: counter}))
	if err != nil {
		b.Fatal(err)
	}
	opts := preflight.HelmOptions{Release: "bench", Namespace: "pf-bench-rel"}
	b.ResetTimer()
	for b.Loop() {
		r, err := c.Helm(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Deletions) != 1 || r.Deletions[0].Objects == nil || *r.Deletions[0].Objects != 6000 {
			b.Fatalf("deletions %+v", r.Deletions)
		}
	}
	b.ReportMetric(float64(counter.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(counter.BodyBytes())/float64(b.N)/1024, "KiB/op")
}

func fill(b *testing.B, ns string) {
	ctx := context.Background()
	data := string(make([]byte, 1024))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 6000; i += 8 {
				var err error
				if i < 5000 {
					_, err = cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"d": data}}, metav1.CreateOptions{})
				} else {
					_, err = cluster.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%d", i)}, Data: map[string][]byte{"d": []byte(data)}}, metav1.CreateOptions{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
