package kube

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/snapshot"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

const accessList = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: otel, namespace: obs, managedFields: [{manager: kubectl}]}
  data: {config.yaml: "endpoint: https://10.64.0.117:6443"}
  binaryData: {blob: aGVsbG8=}
- apiVersion: v1
  kind: Secret
  metadata: {name: creds, namespace: obs}
  data: {token: c2VjcmV0}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: obs}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: nginx, env: [{name: A, value: b}]}]}
- apiVersion: coordination.k8s.io/v1
  kind: Lease
  metadata: {name: apiserver-x, namespace: kube-system, labels: {apiserver.kubernetes.io/identity: kube-apiserver}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: b}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
- apiVersion: flowcontrol.apiserver.k8s.io/v1
  kind: FlowSchema
  metadata: {name: f}
  spec: {priorityLevelConfiguration: {name: workload-low}}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadControlPlaneKinds: ConfigMaps keep their data (and still appear
// as metadata), the access kinds are read, and all survive Save and Load
// with the recorded API server.
func TestLoadControlPlaneKinds(t *testing.T) {
	r, err := Load([]string{writeFile(t, "list.yaml", accessList)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot
	if len(s.ConfigMaps) != 1 || s.ConfigMaps[0].Data["config.yaml"] == "" || s.ConfigMaps[0].BinaryData != nil || s.ConfigMaps[0].ManagedFields != nil {
		t.Fatalf("configmaps = %+v", s.ConfigMaps)
	}
	if len(s.Metadata[snapshot.ConfigMaps]) != 1 || len(s.Metadata[snapshot.Secrets]) != 1 {
		t.Errorf("metadata = %v", s.Metadata)
	}
	if len(s.Leases) != 1 || len(s.ClusterRoleBindings) != 1 || len(s.FlowSchemas) != 1 {
		t.Errorf("leases %d, bindings %d, flowschemas %d", len(s.Leases), len(s.ClusterRoleBindings), len(s.FlowSchemas))
	}
	s.Info.APIServer = &snapshot.APIServer{Server: "https://10.0.0.1:6443", Certificate: &snapshot.Certificate{DNSNames: []string{"kubernetes"}}}
	var b bytes.Buffer
	if err := Save(&b, s, r.Covered); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), `{"kind":"ConfigMap","apiVersion"`) != 1 {
		t.Errorf("ConfigMap saved %d times:\n%s", strings.Count(b.String(), `{"kind":"ConfigMap","apiVersion"`), b.String())
	}
	again, err := Load([]string{writeFile(t, "saved.json", b.String())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2 := again.Snapshot
	if len(s2.ConfigMaps) != 1 || s2.ConfigMaps[0].Data["config.yaml"] != s.ConfigMaps[0].Data["config.yaml"] || len(s2.Metadata[snapshot.ConfigMaps]) != 1 {
		t.Errorf("round trip: configmaps %+v metadata %d", s2.ConfigMaps, len(s2.Metadata[snapshot.ConfigMaps]))
	}
	if a := s2.Info.APIServer; a == nil || a.Server != "https://10.0.0.1:6443" || a.Certificate.DNSNames[0] != "kubernetes" {
		t.Errorf("round trip: apiServer %+v", a)
	}
	if strings.Contains(b.String(), "c2VjcmV0") {
		t.Error("a saved snapshot holds Secret data")
	}
}

// TestLoadVisit: visited kinds go whole to the visitor, not the snapshot.
func TestLoadVisit(t *testing.T) {
	var secrets []*corev1.Secret
	var deployments []*appsv1.Deployment
	visit := func(res snapshot.Resource, obj any) {
		switch o := obj.(type) {
		case *corev1.Secret:
			secrets = append(secrets, o)
		case *appsv1.Deployment:
			deployments = append(deployments, o)
		}
	}
	r, err := LoadVisit([]string{writeFile(t, "list.yaml", accessList)}, nil,
		[]snapshot.Resource{snapshot.Secrets, snapshot.Deployments}, visit, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 1 || string(secrets[0].Data["token"]) != "secret" {
		t.Errorf("visited secrets = %+v", secrets)
	}
	if len(deployments) != 1 || deployments[0].Spec.Template.Spec.Containers[0].Env[0].Value != "b" {
		t.Errorf("visited deployments = %+v", deployments)
	}
	s := r.Snapshot
	if len(s.Deployments) != 0 || len(s.Metadata[snapshot.Secrets]) != 0 || len(s.ConfigMaps) != 1 {
		t.Errorf("snapshot kept visited kinds: deployments %d, secrets %d; configmaps %d", len(s.Deployments), len(s.Metadata[snapshot.Secrets]), len(s.ConfigMaps))
	}
}

func TestServingCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	got := ServingCertificate(context.Background(), &rest.Config{Host: srv.URL})
	if got.Certificate == nil {
		t.Fatalf("no certificate: %s", got.CertificateError)
	}
	if got.Server != srv.URL || !strings.Contains(strings.Join(got.Certificate.DNSNames, ","), "example.com") ||
		!strings.Contains(strings.Join(got.Certificate.IPAddresses, ","), "127.0.0.1") || got.Certificate.NotAfter.IsZero() {
		t.Errorf("certificate = %+v", got.Certificate)
	}
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	if got := ServingCertificate(context.Background(), &rest.Config{Host: plain.URL}); got.Certificate != nil || !strings.Contains(got.CertificateError, "not HTTPS") {
		t.Errorf("plain HTTP: %+v", got)
	}
}
