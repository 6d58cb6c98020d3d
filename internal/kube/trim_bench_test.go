package kube

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// benchPod is a pod as a kubelet-managed Deployment pod looks: two
// containers with env, probes and resources, four conditions, managedFields.
func benchPod(i int) corev1.Pod {
	var env []corev1.EnvVar
	for j := range 25 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%02d", j), Value: fmt.Sprintf("value-%d", j)})
	}
	c := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "registry.example.com/team/" + name + ":v1.2.3", Env: env,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}
	}
	now := metav1.Now()
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("service-%d-%05d", i%1000, i), Namespace: fmt.Sprintf("team-%03d", i%500),
			UID:         "0b5b5a5e-0000-4000-8000-000000000000",
			Labels:      map[string]string{"app.kubernetes.io/name": fmt.Sprintf("service-%d", i%1000), "team": fmt.Sprintf("team-%d", i%40), "pod-template-hash": "5d8f7c9b4"},
			Annotations: map[string]string{"example.com/build-info": strings.Repeat("x", 3000)},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: "Update",
				FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{}},"f:spec":{"f:containers":{}}}` + strings.Repeat(" ", 4000))}},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("service-%d-5d8f7c9b4", i%1000)}},
		},
		Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%05d", i%5000), Containers: []corev1.Container{c("app"), c("proxy")}, ServiceAccountName: "default"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, Image: "registry.example.com/team/app:v1.2.3", ImageID: "sha256:" + strings.Repeat("0", 64), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
				{Name: "proxy", Ready: true, Image: "registry.example.com/team/proxy:v1.2.3", ImageID: "sha256:" + strings.Repeat("1", 64), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
			}},
	}
}

// BenchmarkTrimPods decodes pages of 500 protobuf pods, trims them into one
// slice as the live read does, and reports the heap kept per pod: the
// figure that bounds premortem's memory on a cluster of 150,000 pods.
func BenchmarkTrimPods(b *testing.B) {
	const n = 20000
	page := &corev1.PodList{}
	for i := range 500 {
		page.Items = append(page.Items, benchPod(i))
	}
	raw, err := page.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)) * n / 500)
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		in := interner{}
		pods := make([]corev1.Pod, 0, n)
		for range n / 500 {
			var l corev1.PodList
			if err := l.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
			for i := range l.Items {
				pods = append(pods, trimPod(&l.Items[i], in))
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/pod")
		runtime.KeepAlive(pods)
	}
}

// BenchmarkDeploymentHeap decodes Deployments like bench-scan's (two
// containers of 25 environment variables, probes, resources, volumes; each
// its own image and ConfigMap) and trims them into one slice through one
// interner, as a LIST chain keeps them, and reports the heap kept per
// Deployment: after pods, the largest part of the snapshot. bench-scan
// repeats each set of environment values every 1,000 Deployments; "unique"
// gives every Deployment its own values, so only names, probes, resources
// and the sidecar are shared.
func BenchmarkDeploymentHeap(b *testing.B) {
	for _, c := range []struct {
		name      string
		envValues func(i int) int
	}{
		{"bench-scan", func(i int) int { return i % 1000 }},
		{"unique", func(i int) int { return i }},
	} {
		b.Run(c.name, func(b *testing.B) {
			const n = 2000
			raw := make([][]byte, n)
			for i := range raw {
				d := benchDeployment(i, c.envValues(i))
				var err error
				if raw[i], err = d.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				kept := make([]appsv1.Deployment, n)
				in := interner{}
				for i := range kept {
					var d appsv1.Deployment
					if err := d.Unmarshal(raw[i]); err != nil {
						b.Fatal(err)
					}
					kept[i] = trimDeployment(&d, in)
				}
				in = nil
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/deployment")
				b.ReportMetric(float64(len(raw[0])), "protobuf-bytes/deployment")
				runtime.KeepAlive(kept)
			}
		})
	}
}

func benchDeployment(i, values int) appsv1.Deployment {
	var env []corev1.EnvVar
	for j := range 25 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%02d", j), Value: fmt.Sprintf("value-%d-%d", values, j)})
	}
	container := func(name, image string, port int32) corev1.Container {
		probe := func(path string, period int32) *corev1.Probe {
			return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port)}}, PeriodSeconds: period}
		}
		return corev1.Container{Name: name, Image: image, Env: env, Args: []string{"--config=/etc/app/config.yaml", "--log-level=info"},
			Ports: []corev1.ContainerPort{{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}},
			VolumeMounts:   []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "tmp", MountPath: "/tmp"}},
			ReadinessProbe: probe("/healthz", 10), LivenessProbe: probe("/livez", 20),
			ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}
	}
	name := fmt.Sprintf("service-%d", i)
	labels := map[string]string{"app.kubernetes.io/name": name, "team": fmt.Sprintf("team-%d", i%50)}
	replicas := int32(3)
	return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fmt.Sprintf("ns-%d", i%200), Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{container("app", fmt.Sprintf("registry.example.com/team-%d/%s:v1.%d.0", i%50, name, i%7), 8080), container("proxy", "registry.example.com/platform/envoy:v1.31.2", 15001)},
				Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "config-" + name}}}},
					{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}}}}}
}
