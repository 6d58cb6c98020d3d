package kube

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/premortem/premortem/internal/snapshot"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cmMeta(ns, name string, labels map[string]string) metav1.PartialObjectMetadata {
	return metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func TestConfigMapsWithData(t *testing.T) {
	spec := func(names ...string) corev1.PodSpec {
		var s corev1.PodSpec
		for i, n := range names {
			switch i % 3 {
			case 0:
				s.Volumes = append(s.Volumes, corev1.Volume{Name: n, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: n}}}})
			case 1:
				s.Containers = append(s.Containers, corev1.Container{Name: n, EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: n}}}}})
			case 2:
				s.Volumes = append(s.Volumes, corev1.Volume{Name: n, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: n}}}}}}})
			}
		}
		return s
	}
	s := &snapshot.Snapshot{
		Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{snapshot.ConfigMaps: {
			cmMeta("a", "mounted", nil), cmMeta("a", "env", nil), cmMeta("a", "projected", nil),
			cmMeta("a", "dashboard", nil), // nothing refers to it
			cmMeta("b", "mounted", nil),   // same name, other namespace
			cmMeta("b", "job", nil),       // a Job's
			cmMeta("c", "release.v3", map[string]string{"owner": "helm", "name": "web"}), // Helm 3 record
			cmMeta("c", "tiller.v1", map[string]string{"OWNER": "TILLER", "NAME": "db"}), // Helm 2 record
			cmMeta("c", "owner-only", map[string]string{"owner": "helm"}),                // no release name
		}},
		Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "d"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec("mounted", "env", "projected", "missing")}}}},
		Jobs: []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "j"},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec("job")}}}},
	}
	got, perNamespace := configMapsWithData(s)
	want := []string{"a/env", "a/mounted", "a/projected", "b/job", "c/release.v3", "c/tiller.v1"}
	if !slices.Equal(got, want) {
		t.Errorf("configMapsWithData = %q, want %q", got, want)
	}
	if wantNS := map[string]int{"a": 4, "b": 2, "c": 3}; !maps.Equal(perNamespace, wantNS) {
		t.Errorf("ConfigMaps per namespace = %v, want %v", perNamespace, wantNS)
	}
}

// TestKeepScannedConfigMapData: of ConfigMaps held whole (an agent's),
// only the ones a scan reads keep their data; all keep their metadata, and
// the slice given is not written to.
func TestKeepScannedConfigMapData(t *testing.T) {
	whole := func(ns, name string, labels map[string]string) corev1.ConfigMap {
		return corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Data: map[string]string{"k": name}}
	}
	cms := []corev1.ConfigMap{
		whole("a", "dashboard", nil), whole("a", "mounted", nil),
		whole("b", "mounted", nil), whole("c", "release.v1", map[string]string{"owner": "helm", "name": "web"}),
	}
	s := &snapshot.Snapshot{ConfigMaps: slices.Clip(slices.Clone(cms)), Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{}}
	for _, cm := range cms {
		s.Metadata[snapshot.ConfigMaps] = append(s.Metadata[snapshot.ConfigMaps], metav1.PartialObjectMetadata{ObjectMeta: cm.ObjectMeta})
	}
	given := s.ConfigMaps
	s.Deployments = []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "d"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mounted"}}}}}}}}}}
	KeepScannedConfigMapData(s)
	var got []string
	for _, cm := range s.ConfigMaps {
		got = append(got, cm.Namespace+"/"+cm.Name)
	}
	if want := []string{"a/mounted", "c/release.v1"}; !slices.Equal(got, want) {
		t.Errorf("ConfigMaps with data = %q, want %q", got, want)
	}
	if n := len(s.Metadata[snapshot.ConfigMaps]); n != len(cms) {
		t.Errorf("%d ConfigMaps in Metadata, want %d", n, len(cms))
	}
	for i := range cms {
		if given[i].Name != cms[i].Name {
			t.Fatalf("the given slice was written to: %q at %d, was %q", given[i].Name, i, cms[i].Name)
		}
	}
}

// TestSaveConfigMapsWithSomeData: a live read keeps the data of some
// ConfigMaps and the metadata of all; the file holds each once, and loads
// back into the same ConfigMaps.
func TestSaveConfigMapsWithSomeData(t *testing.T) {
	s := &snapshot.Snapshot{
		Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{snapshot.ConfigMaps: {cmMeta("a", "kept", nil), cmMeta("a", "listed", nil)}},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "kept"},
			Data: map[string]string{"k": "v"}}},
	}
	var buf bytes.Buffer
	if err := Save(&buf, s, []snapshot.Resource{snapshot.ConfigMaps}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte(`{"kind":"ConfigMap","apiVersion":"v1"`)); n != 2 {
		t.Errorf("%d ConfigMaps written, want 2:\n%s", n, buf.Bytes())
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := res.Snapshot
	if len(l.Metadata[snapshot.ConfigMaps]) != 2 || len(l.ConfigMaps) != 2 {
		t.Fatalf("loaded %d ConfigMaps with data, %d metadata, want 2 and 2", len(l.ConfigMaps), len(l.Metadata[snapshot.ConfigMaps]))
	}
	for _, cm := range l.ConfigMaps {
		if want := map[string]string{"kept": "v", "listed": ""}[cm.Name]; cm.Data["k"] != want {
			t.Errorf("%s: data %v", cm.Name, cm.Data)
		}
	}
}

func TestPlanConfigMapData(t *testing.T) {
	keys := func(ns string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s/cm-%02d", ns, i))
		}
		return out
	}
	tests := []struct {
		name         string
		keys         []string
		perNamespace map[string]int
		wantLists    []string // namespaces listed with data
		wantGets     int
	}{
		{"few wanted: GETs", keys("a", listNamespaceMin-1), map[string]int{"a": listNamespaceMin - 1}, nil, listNamespaceMin - 1},
		{"many, the whole namespace: one LIST", keys("a", 30), map[string]int{"a": 30}, []string{"a"}, 0},
		{"many, a quarter exactly: one LIST", keys("a", 30), map[string]int{"a": 120}, []string{"a"}, 0},
		{"many, under a quarter: GETs", keys("a", 30), map[string]int{"a": 121}, nil, 30},
		{"per namespace", append(keys("a", 10), keys("b", 3)...), map[string]int{"a": 10, "b": 3}, []string{"a"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lists []string
			gets := 0
			for _, task := range planConfigMapData(tt.keys, tt.perNamespace) {
				if task.name == "" {
					lists = append(lists, task.ns)
				} else {
					gets++
				}
			}
			if !slices.Equal(lists, tt.wantLists) || gets != tt.wantGets {
				t.Errorf("lists %q and %d GETs, want %q and %d", lists, gets, tt.wantLists, tt.wantGets)
			}
		})
	}
}
