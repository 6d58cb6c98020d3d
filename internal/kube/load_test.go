package kube

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// counts returns the number of objects per kind in s.
func counts(s *snapshot.Snapshot) map[string]int {
	m := map[string]int{
		"Namespace": len(s.Namespaces), "Node": len(s.Nodes), "Pod": len(s.Pods), "Service": len(s.Services),
		"EndpointSlice": len(s.EndpointSlices), "Deployment": len(s.Deployments), "DaemonSet": len(s.DaemonSets),
		"StatefulSet": len(s.StatefulSets), "Job": len(s.Jobs), "PodDisruptionBudget": len(s.PodDisruptionBudgets),
		"APIService": len(s.APIServices),
	}
	for r, items := range s.Metadata {
		m[r.Kind+"."+r.Group] = len(items)
	}
	for k, v := range m {
		if v == 0 {
			delete(m, k)
		}
	}
	return m
}

func TestLoadFormats(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  map[string]int
	}{
		{"kubectl v1 List in YAML", []string{"testdata/list.yaml"}, map[string]int{"Pod": 1, "Node": 1, "Secret.": 1}},
		{"multi-document YAML", []string{"testdata/multi.yaml"}, map[string]int{"Deployment": 1, "APIService": 1, "NetworkPolicy.networking.k8s.io": 1}},
		{"typed list from the raw API", []string{"testdata/podlist.json"}, map[string]int{"Pod": 2}},
		{"several files", []string{"testdata/list.yaml", "testdata/podlist.json"}, map[string]int{"Pod": 3, "Node": 1, "Secret.": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(tt.paths, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Problems) > 0 {
				t.Fatalf("problems: %v", r.Problems)
			}
			if got := counts(r.Snapshot); !equalCounts(got, tt.want) {
				t.Errorf("counts = %v, want %v", got, tt.want)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLoadTrims(t *testing.T) {
	r, err := Load([]string{"testdata/list.yaml", "testdata/multi.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot
	p := s.Pods[0]
	if p.ManagedFields != nil || p.Annotations != nil {
		t.Errorf("pod kept managedFields or annotations: %+v", p.ObjectMeta)
	}
	if c := p.Spec.Containers[0]; c.Env != nil || c.Args != nil || c.Image != "nginx:1.27" {
		t.Errorf("container not trimmed to name and image: %+v", c)
	}
	if p.Spec.NodeName != "node-a" || p.Spec.PriorityClassName != "system-cluster-critical" || p.Status.ContainerStatuses[0].RestartCount != 3 {
		t.Errorf("pod lost a kept field: %+v", p)
	}
	if p.Status.ContainerStatuses[0].ImageID != "" {
		t.Errorf("pod kept imageID")
	}
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Name != "web-abc" {
		t.Errorf("owner references = %v", p.OwnerReferences)
	}
	n := s.Nodes[0]
	if n.Annotations != nil || n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0 {
		t.Errorf("node kept a dropped field: %+v", n)
	}
	if n.Status.NodeInfo.KernelVersion != "6.1.0-18-amd64" || len(n.Spec.Taints) != 1 || n.Spec.PodCIDR != "10.0.0.0/24" || !n.Status.Allocatable.Cpu().Equal(resource.MustParse("7800m")) {
		t.Errorf("node lost a kept field: %+v", n)
	}
	sec := s.Metadata[snapshot.Secrets][0]
	if sec.Labels["owner"] != "helm" || sec.Name != "sh.helm.release.v1.tool.v7" {
		t.Errorf("secret metadata = %+v", sec)
	}
	a := s.APIServices[0]
	if a.Name != "v1beta1.metrics.k8s.io" || a.Service == nil || a.Service.Name != "metrics-server" || a.Conditions[0].Status != "False" || a.Group != "metrics.k8s.io" {
		t.Errorf("apiservice = %+v", a)
	}
	// ClusterRoles are read since the access checks (cluster-wide-node-agent).
	if len(s.ClusterRoles) != 1 || len(r.Ignored) != 0 {
		t.Errorf("clusterroles = %d, ignored = %v", len(s.ClusterRoles), r.Ignored)
	}
}

func TestLoadProblems(t *testing.T) {
	dir := t.TempDir()
	// A gzip file cut in the middle: the objects before the cut are kept.
	var full bytes.Buffer
	zw := gzip.NewWriter(&full)
	var src strings.Builder
	src.WriteString(`{"apiVersion":"v1","kind":"List","items":[` + "\n")
	for i := range 2000 {
		if i > 0 {
			src.WriteString(",\n")
		}
		src.WriteString(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns-` + strings.Repeat("x", i%50) + `","labels":{"i":"` + strings.Repeat("y", i%97) + `"}}}`)
	}
	src.WriteString("]}\n")
	zw.Write([]byte(src.String()))
	zw.Close()
	truncated := filepath.Join(dir, "cut.json.gz")
	if err := os.WriteFile(truncated, full.Bytes()[:full.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.json.gz")
	os.WriteFile(garbage, []byte("not gzip"), 0o644)

	tests := []struct {
		name       string
		path       string
		wantErr    []string // substrings of the single problem
		minObjects int
		skipped    string // a resource the problem marks as skipped
	}{
		{"syntax error names the line", "testdata/bad.json", []string{"testdata/bad.json: line 3", "kept the 1 objects"}, 1, "testdata/bad.json"},
		{"bad field names the document and object", "testdata/badfield.yaml", []string{"document 1 (line 1) (Job ci/j1)", "document 3 (line 11)"}, 1, "jobs,testdata/badfield.yaml"},
		{"truncated gzip keeps what was read", truncated, []string{"cut.json.gz: line ", "file ends early"}, 100, truncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load([]string{tt.path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, p := range r.Problems {
				msgs = append(msgs, p.Error())
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tt.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q do not mention %q", all, w)
				}
			}
			if r.Objects < tt.minObjects {
				t.Errorf("kept %d objects, want at least %d", r.Objects, tt.minObjects)
			}
			var skipped []string
			for _, s := range r.Snapshot.Info.Skipped {
				skipped = append(skipped, s.Resource.Resource)
			}
			if got := strings.Join(skipped, ","); got != tt.skipped {
				t.Errorf("skipped = %q, want %q", got, tt.skipped)
			}
		})
	}
	if _, err := Load([]string{garbage}, nil); err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Errorf("garbage gzip: err = %v", err)
	}
	if _, err := Load([]string{filepath.Join(dir, "missing.json")}, nil); err == nil {
		t.Error("missing file: no error")
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o755)
	data, _ := os.ReadFile("testdata/podlist.json")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	os.WriteFile(filepath.Join(sub, "pods.json.gz"), gz.Bytes(), 0o644)
	multi, _ := os.ReadFile("testdata/multi.yaml")
	os.WriteFile(filepath.Join(dir, "multi.yml"), multi, 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not a snapshot"), 0o644)
	r, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 2 || len(r.Problems) != 0 {
		t.Errorf("files = %d, problems = %v", r.Files, r.Problems)
	}
	want := map[string]int{"Pod": 2, "Deployment": 1, "APIService": 1, "NetworkPolicy.networking.k8s.io": 1}
	if got := counts(r.Snapshot); !equalCounts(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
}

// A saved snapshot loads back into the same Snapshot: the live-vs-snapshot
// equivalence of scans rests on this.
func TestSaveLoadRoundTrip(t *testing.T) {
	taken := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	ts := metav1.NewTime(taken.Add(-time.Hour))
	leet := resource.MustParse("1337m")
	s := &snapshot.Snapshot{
		Info: snapshot.Info{
			Source: "live:https://127.0.0.1:6443", TakenAt: taken, ServerVersion: "v1.36.3",
			Skipped:           []snapshot.Skipped{{Resource: snapshot.Secrets, Reason: "forbidden: no"}},
			DiscoveryFailures: []snapshot.DiscoveryFailure{{GroupVersion: "metrics.k8s.io/v1beta1", Error: "503"}},
		},
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "gone", DeletionTimestamp: &ts, Finalizers: []string{"x"}},
			Spec:   corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating, Conditions: []corev1.NamespaceCondition{{Type: "NamespaceDeletionDiscoveryFailure", Status: "True", LastTransitionTime: ts}}}}},
		Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "b"}, CreationTimestamp: ts},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: leet}, NodeInfo: corev1.NodeSystemInfo{KernelVersion: "6.1"}}}},
		Pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", CreationTimestamp: ts},
			Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}}},
		APIServices: []snapshot.APIService{{ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"}, Group: "metrics.k8s.io", Version: "v1beta1",
			Service:    &snapshot.ServiceReference{Namespace: "kube-system", Name: "metrics-server"},
			Conditions: []snapshot.APIServiceCondition{{Type: "Available", Status: "False", LastTransitionTime: ts, Reason: "FailedDiscoveryCheck"}}}},
		Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{
			snapshot.ConfigMaps:      {{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns", Labels: map[string]string{"owner": "helm"}}}},
			snapshot.NetworkPolicies: {{ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "ns"}}},
		},
	}
	covered := []snapshot.Resource{snapshot.ConfigMaps, snapshot.Nodes, snapshot.Pods}
	path := filepath.Join(t.TempDir(), "snap.json.gz")
	f, _ := os.Create(path)
	zw := gzip.NewWriter(f)
	if err := Save(zw, s, covered); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()

	r, err := Load([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 || !r.HasInfo {
		t.Fatalf("problems %v, hasInfo %v", r.Problems, r.HasInfo)
	}
	got := r.Snapshot
	if got.Info.Source != path {
		t.Errorf("source = %q", got.Info.Source)
	}
	got.Info.Source = s.Info.Source
	if !reflect.DeepEqual(got.Info, s.Info) {
		t.Errorf("info = %+v, want %+v", got.Info, s.Info)
	}
	// Semantic equality compares quantities and times by value; it cannot
	// walk Info's time.Time, compared above.
	eq := apiequality.Semantic.DeepEqual
	if !eq(got.Namespaces, s.Namespaces) || !eq(got.Nodes, s.Nodes) || !eq(got.Pods, s.Pods) ||
		!eq(got.APIServices, s.APIServices) || !eq(got.Metadata, s.Metadata) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, s)
	}
	wantCovered := map[snapshot.Resource]bool{snapshot.ConfigMaps: true, snapshot.Nodes: true, snapshot.Pods: true,
		snapshot.Namespaces: true, snapshot.APIServices: true, snapshot.NetworkPolicies: true}
	if len(r.Covered) != len(wantCovered) {
		t.Errorf("covered = %v", r.Covered)
	}
	for _, c := range r.Covered {
		if !wantCovered[c] {
			t.Errorf("covered has %v", c)
		}
	}
}
