package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/premortem/premortem/internal/snapshot"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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

// fakeConfigMaps serves GET of one ConfigMap, as an API server does, and
// counts the GETs: enough for ConfigMapData's bookkeeping, a pure unit
// test (the agent's end-to-end test runs it against a real API server).
type fakeConfigMaps struct {
	mu   sync.Mutex
	cms  map[string]corev1.ConfigMap // namespace/name
	gets []string
	fail int // answer every request with this status instead
}

func (f *fakeConfigMaps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ns, name string
	if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " api v1 namespaces %s configmaps %s", &ns, &name); err != nil || r.Method != http.MethodGet {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	f.gets = append(f.gets, ns+"/"+name)
	w.Header().Set("Content-Type", "application/json")
	status := func(code int, reason metav1.StatusReason) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code), Reason: reason})
	}
	cm, ok := f.cms[ns+"/"+name]
	switch {
	case f.fail != 0:
		status(f.fail, metav1.StatusReasonForbidden)
	case !ok:
		status(http.StatusNotFound, metav1.StatusReasonNotFound)
	default:
		cm.TypeMeta = metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}
		json.NewEncoder(w).Encode(cm)
	}
}

func (f *fakeConfigMaps) set(ns, name, rv, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cms[ns+"/"+name] = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv,
		Labels: map[string]string{"owner": map[bool]string{true: "helm"}[strings.HasPrefix(name, "sh.helm")], "name": "web"}},
		Data: map[string]string{"k": data}}
}

func (f *fakeConfigMaps) takeGets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gets
	f.gets = nil
	slices.Sort(g)
	return g
}

// TestConfigMapData: an agent holds the data of the ConfigMaps a scan
// reads, GETs one when it becomes wanted or changes, and nothing else;
// lets go of the ones no longer wanted; and when the data cannot be read,
// skips ConfigMaps as a scan does.
func TestConfigMapData(t *testing.T) {
	api := &fakeConfigMaps{cms: map[string]corev1.ConfigMap{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.set("a", "dashboard", "1", "big")
	api.set("a", "mounted", "1", "v1")
	api.set("c", "sh.helm.release.v1.web.v1", "1", "release")
	mount := []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "d"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mounted"}}}}}}}}}}
	// snap is an evaluation's snapshot: the watched metadata, at the
	// fake server's resourceVersions, and the workloads.
	snap := func(deployments []appsv1.Deployment) *snapshot.Snapshot {
		s := &snapshot.Snapshot{Deployments: deployments, Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{}}
		api.mu.Lock()
		for _, k := range slices.Sorted(maps.Keys(api.cms)) {
			s.Metadata[snapshot.ConfigMaps] = append(s.Metadata[snapshot.ConfigMaps], metav1.PartialObjectMetadata{ObjectMeta: api.cms[k].ObjectMeta})
		}
		api.mu.Unlock()
		return s
	}
	data := func(s *snapshot.Snapshot) []string {
		var out []string
		for _, cm := range s.ConfigMaps {
			out = append(out, cm.Namespace+"/"+cm.Name+"="+cm.Data["k"])
		}
		return out
	}
	c := NewConfigMapData(&rest.Config{Host: srv.URL})
	steps := []struct {
		name     string
		change   func()
		deploys  []appsv1.Deployment
		wantGets []string
		wantData []string
	}{
		{"first evaluation: the wanted ones", nil, mount,
			[]string{"a/mounted", "c/sh.helm.release.v1.web.v1"}, []string{"a/mounted=v1", "c/sh.helm.release.v1.web.v1=release"}},
		{"nothing changed: no request", nil, mount,
			nil, []string{"a/mounted=v1", "c/sh.helm.release.v1.web.v1=release"}},
		{"a wanted one changed", func() { api.set("a", "mounted", "2", "v2") }, mount,
			[]string{"a/mounted"}, []string{"a/mounted=v2", "c/sh.helm.release.v1.web.v1=release"}},
		{"an unwanted one changed", func() { api.set("a", "dashboard", "2", "bigger") }, mount,
			nil, []string{"a/mounted=v2", "c/sh.helm.release.v1.web.v1=release"}},
		{"no longer mounted", nil, nil,
			nil, []string{"c/sh.helm.release.v1.web.v1=release"}},
		{"mounted again: read again", nil, mount,
			[]string{"a/mounted"}, []string{"a/mounted=v2", "c/sh.helm.release.v1.web.v1=release"}},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		s := snap(st.deploys)
		gets, _, err := c.Fill(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := api.takeGets(); !slices.Equal(got, st.wantGets) || gets != len(st.wantGets) {
			t.Errorf("%s: GETs %q (counted %d), want %q", st.name, got, gets, st.wantGets)
		}
		if got := data(s); !slices.Equal(got, st.wantData) {
			t.Errorf("%s: data %q, want %q", st.name, got, st.wantData)
		}
		if len(c.held) != len(st.wantData) {
			t.Errorf("%s: holds %d ConfigMaps, want %d", st.name, len(c.held), len(st.wantData))
		}
	}

	// Changed, then deleted before the GET: left out, not an error.
	s := snap(mount)
	api.mu.Lock()
	delete(api.cms, "a/mounted")
	api.mu.Unlock()
	s.Metadata[snapshot.ConfigMaps][1].ResourceVersion = "3"
	if _, _, err := c.Fill(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got, want := data(s), []string{"c/sh.helm.release.v1.web.v1=release"}; !slices.Equal(got, want) {
		t.Errorf("deleted: data %q, want %q", got, want)
	}
	api.takeGets()

	// ConfigMaps not read this time (their watch failing): nothing read,
	// nothing let go.
	held := len(c.held)
	s = snap(mount)
	delete(s.Metadata, snapshot.ConfigMaps)
	if gets, _, err := c.Fill(context.Background(), s); err != nil || gets != 0 || len(c.held) != held {
		t.Fatalf("ConfigMaps not read: %d GETs, %v, holds %d (held %d)", gets, err, len(c.held), held)
	}

	// Read before Fill (an agent, before it locks its stores): Fill then
	// reads nothing.
	api.set("a", "mounted", "6", "v6")
	s = snap(mount)
	if gets, _, err := c.Read(context.Background(), c.Plan(s)); err != nil || gets != 1 {
		t.Fatalf("Read: %d GETs, %v; want 1", gets, err)
	}
	if gets, _, err := c.Fill(context.Background(), s); err != nil || gets != 0 {
		t.Fatalf("Fill after Read: %d GETs, %v; want 0", gets, err)
	}
	if got, want := data(s), []string{"a/mounted=v6", "c/sh.helm.release.v1.web.v1=release"}; !slices.Equal(got, want) {
		t.Errorf("after Read and Fill: data %q, want %q", got, want)
	}
	api.takeGets()

	// Forbidden for a changed one held at an older version: served as
	// held, the error returned; not skipped.
	api.fail = http.StatusForbidden
	api.set("c", "sh.helm.release.v1.web.v1", "5", "release v5")
	s = snap(nil)
	if _, _, err := c.Fill(context.Background(), s); err == nil {
		t.Fatal("no error from a 403")
	}
	if got, want := data(s), []string{"c/sh.helm.release.v1.web.v1=release"}; !slices.Equal(got, want) || len(s.Info.Skipped) != 0 {
		t.Errorf("after a 403 for a held one: data %q, skipped %+v; want %q", got, s.Info.Skipped, want)
	}

	// Forbidden for one never read: ConfigMaps skipped whole, with the
	// reason.
	api.set("a", "other", "1", "o")
	other := []appsv1.Deployment{mount[0]}
	other[0].Spec.Template.Spec.Volumes = append(slices.Clone(other[0].Spec.Template.Spec.Volumes), corev1.Volume{Name: "o",
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}})
	s = snap(other)
	if _, _, err := c.Fill(context.Background(), s); err == nil {
		t.Fatal("no error from a 403")
	}
	if len(s.ConfigMaps) != 0 || s.Metadata[snapshot.ConfigMaps] != nil || len(s.Info.Skipped) != 1 || s.Info.Skipped[0].Resource != snapshot.ConfigMaps {
		t.Errorf("after a 403: %d ConfigMaps, metadata %v, skipped %+v", len(s.ConfigMaps), s.Metadata[snapshot.ConfigMaps], s.Info.Skipped)
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
