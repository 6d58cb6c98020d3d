package access

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// configText is a few KB of an application's YAML configuration: the
// kind of ConfigMap data the check reads for every workload mounting it.
func configText(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated 2026-11-21 10:00:00 by CI, release %d\nserver:\n  listen: 0.0.0.0:8080\n  readTimeout: 30s\n", i)
	for u := range 12 {
		fmt.Fprintf(&b, "upstreams:\n  - name: svc-%02d\n    url: http://svc-%02d.ns-%03d.svc.cluster.local:8080/api/v1/Items?Limit=500\n"+
			"    timeout: 5s\n    retries: 3\n    TLS: {enabled: false, CAFile: /etc/ssl/ca.pem}\n", u, u, i%100)
	}
	b.WriteString("logging:\n  level: INFO\n  format: json\n  fields: [Time, Level, Message, TraceID]\nfeatures:\n")
	for f := range 40 {
		fmt.Fprintf(&b, "  Feature%02d: true # since 2026-%02d-01T00:00:00Z\n", f, f%12+1)
	}
	return b.String()
}

// hardcodedSnapshot is a cluster of 2,000 Deployments with the env, args
// and mounted ConfigMaps applications carry; one in 50 names an API server
// by address.
func hardcodedSnapshot() *snapshot.Snapshot {
	s := &snapshot.Snapshot{Info: snapshot.Info{APIServer: &snapshot.APIServer{Server: "https://api.prod.example.org:6443"}}}
	for i := range 600 {
		s.ConfigMaps = append(s.ConfigMaps, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("config-%03d", i), Namespace: fmt.Sprintf("ns-%03d", i%100)},
			Data: map[string]string{"config.yaml": configText(i), "LOG_LEVEL": "info"}})
	}
	for i := range 2000 {
		env := []corev1.EnvVar{
			{Name: "LOG_LEVEL", Value: "info"}, {Name: "JAVA_OPTS", Value: "-Xmx512m -XX:+UseG1GC -Dfile.encoding=UTF-8"},
			{Name: "DATABASE_URL", Value: fmt.Sprintf("postgres://app@db-%d.ns-%03d.svc.cluster.local:5432/app?sslmode=require", i%7, i%100)},
			{Name: "REDIS_HOST", Value: "redis-master"}, {Name: "SERVICE_NAME", Value: fmt.Sprintf("app-%04d", i)},
			{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: "http://otel-collector.observability:4317"},
			{Name: "FEATURE_FLAGS", Value: "NewCheckout,FastSearch,DarkMode"}, {Name: "TZ", Value: "Europe/Paris"},
		}
		if i%50 == 0 {
			env = append(env, corev1.EnvVar{Name: "KUBE_MASTER", Value: "https://10.64.0.11:6443"})
		}
		spec := corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.example.org/team/app:1.2.3", Env: env,
				Command: []string{"/app/server"}, Args: []string{"--config=/etc/app/config.yaml", "--metrics-addr=:9090", "--log-format=json"}}},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("config-%03d", i%600)}}}}},
		}
		s.Deployments = append(s.Deployments, appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%04d", i), Namespace: fmt.Sprintf("ns-%03d", i%600%100)},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}})
	}
	return s
}

// BenchmarkHardcoded runs hardcoded-apiserver-address over 2,000
// configured Deployments and 600 ConfigMaps of a few KB:
// go test ./internal/checks/access -run '^$' -bench Hardcoded -benchmem
func BenchmarkHardcoded(b *testing.B) {
	snap := hardcodedSnapshot()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cs := []*check.Check{HardcodedAPIServerAddress}
	for b.Loop() {
		res, err := check.Run(context.Background(), snap, cs, check.Options{Now: now})
		if err != nil || len(res.Findings) != 40 {
			b.Fatalf("%v: %d findings, want 40", err, len(res.Findings))
		}
	}
}
