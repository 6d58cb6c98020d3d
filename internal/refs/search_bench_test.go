package refs

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/snapshot"
)

// BenchmarkSearch searches a cluster the size of the DESIGN.md figures for
// one hostname: 60,000 pods of 2,000 Deployments, 12,000 ConfigMaps of 2 KB
// and 6,000 Secrets. Objects are built once; the search visits them as a
// live read would.
func BenchmarkSearch(b *testing.B) {
	var objs []any
	rs := &snapshot.Snapshot{Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{}}
	filler := make([]byte, 2048)
	for i := range filler {
		filler[i] = 'a' + byte(i%26)
	}
	for i := range 12000 {
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: meta(fmt.Sprintf("ns-%d", i%500), fmt.Sprintf("cm-%d", i)),
			Data: map[string]string{"config.yaml": string(filler) + "\nendpoint: https://svc-" + fmt.Sprint(i) + ".example.org:443\n"}})
	}
	for i := range 6000 {
		objs = append(objs, &corev1.Secret{ObjectMeta: meta(fmt.Sprintf("ns-%d", i%500), fmt.Sprintf("s-%d", i)),
			Data: map[string][]byte{"token": filler}})
	}
	for d := range 2000 {
		ns := fmt.Sprintf("ns-%d", d%500)
		spec := podSpec([]corev1.EnvVar{{Name: "DB", Value: "db.example.org"}},
			corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("cm-%d", d)}}}})
		rs.Metadata[snapshot.ReplicaSets] = append(rs.Metadata[snapshot.ReplicaSets], metav1.PartialObjectMetadata{
			ObjectMeta: meta(ns, fmt.Sprintf("app-%d-rs", d), controller("apps/v1", "Deployment", fmt.Sprintf("app-%d", d)))})
		objs = append(objs, &appsv1.Deployment{ObjectMeta: meta(ns, fmt.Sprintf("app-%d", d)), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}})
		for p := range 30 {
			objs = append(objs, &corev1.Pod{ObjectMeta: meta(ns, fmt.Sprintf("app-%d-%d", d, p), controller("apps/v1", "ReplicaSet", fmt.Sprintf("app-%d-rs", d))), Spec: spec})
		}
	}
	qs, err := address.ParseQueries([]string{"svc-1242.example.org"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := NewSearch(qs)
		for _, o := range objs {
			s.Visit(snapshot.Resource{}, o)
		}
		s.AddSnapshot(rs)
		if r := s.Result(); len(r.References) != 1 || len(r.References[0].Consumers) != 1 || len(r.References[0].Consumers[0].Pods) != 30 {
			b.Fatalf("references = %+v", r.References)
		}
	}
	b.ReportMetric(float64(len(objs)), "objects/op")
}
