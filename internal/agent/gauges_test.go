package agent

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }

func one(i int32) *int32 { return &i }

func labelled(ns, name string, labels map[string]string) metav1.PartialObjectMetadata {
	return metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func TestMeasure(t *testing.T) {
	done := batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	ttl := int32(60)
	s := &snapshot.Snapshot{
		Namespaces: []corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "team-a", DeletionTimestamp: ago(4 * time.Hour)}},
			{ObjectMeta: metav1.ObjectMeta{Name: "team-b", DeletionTimestamp: ago(time.Hour)}},
			{ObjectMeta: metav1.ObjectMeta{Name: "live"}},
		},
		APIServices: []snapshot.APIService{
			{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}}, // local: no series
			{ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"}, Service: &snapshot.ServiceReference{Name: "m"},
				Conditions: []snapshot.APIServiceCondition{{Type: "Available", Status: "False"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "v1.custom.io"}, Service: &snapshot.ServiceReference{Name: "c"},
				Conditions: []snapshot.APIServiceCondition{{Type: "Available", Status: "True"}}},
		},
		Jobs: []batchv1.Job{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "mw", Name: "a"}, Status: done},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "mw", Name: "b"}, Status: done},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "mw", Name: "ttl"}, Spec: batchv1.JobSpec{TTLSecondsAfterFinished: &ttl}, Status: done},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "mw", Name: "running"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "c"}, Status: done},
		},
		Deployments: []appsv1.Deployment{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "calico-typha"}, Spec: appsv1.DeploymentSpec{Replicas: one(1)},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: one(3)}},
		},
		Nodes: []corev1.Node{
			{Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.30", KernelVersion: "5.10", ContainerRuntimeVersion: "c1", OSImage: "os"}}},
			{Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.30", KernelVersion: "6.1", ContainerRuntimeVersion: "c2", OSImage: "os"}}},
		},
		Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{
			snapshot.Secrets: {
				labelled("mw", "sh.helm.release.v1.r1.v1", map[string]string{"owner": "helm", "name": "r1"}),
				labelled("mw", "sh.helm.release.v1.r1.v2", map[string]string{"owner": "helm", "name": "r1"}),
				labelled("mw", "sh.helm.release.v1.r2.v1", map[string]string{"owner": "helm", "name": "r2"}),
				labelled("mw", "plain", nil),
			},
			snapshot.ConfigMaps: {
				labelled("mw", "r1-cm", map[string]string{"helm.sh/chart": "mwscript-0.1.2", "app.kubernetes.io/instance": "r1"}),
				labelled("mw", "r2-cm", map[string]string{"helm.sh/chart": "mwscript-0.1.3", "app.kubernetes.io/instance": "r2"}),
			},
		},
		Info: snapshot.Info{APIServer: &snapshot.APIServer{Server: "https://10.0.0.1:6443",
			Certificate: &snapshot.Certificate{NotAfter: now.Add(24 * time.Hour)}}},
	}
	r := &check.Result{Ran: []string{hardcodedCheck}, Findings: []check.Finding{{ID: hardcodedCheck,
		Evidence: map[string]any{"addresses": []map[string]any{{"address": "10.64.0.117", "currentAPIServer": false}, {"address": "10.0.0.1", "currentAPIServer": true}}}}}}
	counts := map[snapshot.Resource]map[string]int{snapshot.ConfigMaps: {"a": 5, "b": 3, "c": 9}}
	g := measure(s, r, counts, limits{top: 2, maxSeries: 1}, now)

	want := map[string][]sample{
		"premortem_apiservice_available":                           {{[]string{"v1beta1.metrics.k8s.io"}, 0}},
		"premortem_apiservice_blocked_namespaces":                  {{[]string{"v1beta1.metrics.k8s.io"}, 2}},
		"premortem_namespace_terminating_seconds":                  {{[]string{"team-a"}, 4 * 3600}},
		"premortem_namespace_objects":                              {{[]string{"configmaps", "c"}, 9}, {[]string{"configmaps", "a"}, 5}},
		"premortem_finished_jobs_without_ttl":                      {{[]string{"mw"}, 2}, {[]string{"other"}, 1}},
		"premortem_helm_releases":                                  {{[]string{"mw", "mwscript"}, 2}},
		"premortem_critical_workload_replicas":                     {{[]string{"kube-system", "Deployment", "calico-typha"}, 1}},
		"premortem_critical_workload_ready_replicas":               {{[]string{"kube-system", "Deployment", "calico-typha"}, 1}},
		"premortem_node_version_variants":                          {{[]string{"kubelet"}, 1}, {[]string{"kernel"}, 2}, {[]string{"runtime"}, 2}, {[]string{"os_image"}, 1}},
		"premortem_apiserver_literal_references":                   {{[]string{"current"}, 1}, {[]string{"stale"}, 1}},
		"premortem_apiserver_certificate_expiry_timestamp_seconds": {{[]string{"10.0.0.1:6443"}, float64(now.Add(24 * time.Hour).Unix())}},
	}
	for name, w := range want {
		if !reflect.DeepEqual(g.series[name], w) {
			t.Errorf("%s:\n got %v\nwant %v", name, g.series[name], w)
		}
	}
	for name := range g.series {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected %s: %v", name, g.series[name])
		}
	}
	// The caps: one APIService of two, one Terminating namespace of two,
	// one namespace of three ConfigMap namespaces.
	wantCut := map[string]float64{
		"premortem_apiservice_available": 1, "premortem_apiservice_blocked_namespaces": 1,
		"premortem_namespace_terminating_seconds": 1, "premortem_namespace_objects": 1,
		"premortem_finished_jobs_without_ttl": 0, "premortem_helm_releases": 0,
		"premortem_critical_workload_replicas": 0, "premortem_critical_workload_ready_replicas": 0,
	}
	if !reflect.DeepEqual(g.truncated, wantCut) {
		t.Errorf("truncated:\n got %v\nwant %v", g.truncated, wantCut)
	}
}

// A kind that was not read gives no series: never a 0 for "unknown".
func TestMeasureUnread(t *testing.T) {
	s := &snapshot.Snapshot{Info: snapshot.Info{Skipped: []snapshot.Skipped{
		{Resource: snapshot.APIServices, Reason: "forbidden"}, {Resource: snapshot.Namespaces, Reason: "forbidden"},
		{Resource: snapshot.Jobs, Reason: "forbidden"}, {Resource: snapshot.Secrets, Reason: "forbidden"},
		{Resource: snapshot.Deployments, Reason: "forbidden"}, {Resource: snapshot.Nodes, Reason: "forbidden"},
	}}}
	g := measure(s, &check.Result{}, nil, limits{top: 5, maxSeries: 100}, now)
	for name, ss := range g.series {
		if len(ss) > 0 {
			t.Errorf("%s: %v from unread kinds", name, ss)
		}
	}
}
