package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/premortem/premortem/lab"
)

// sizes is how many objects of each kind the cluster holds.
type sizes struct {
	nodes, pods, namespaces, deployments, services, configMaps, secrets int
	podBytes                                                            int
	largeConfigMaps                                                     int
}

// countObjects fills b.sz from the API server's apiserver_storage_objects
// gauge, for a lab the bench did not build.
func (b *builder) countObjects(ctx context.Context) error {
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_storage_objects{") {
			continue
		}
		res := line[strings.Index(line, `resource="`)+len(`resource="`):]
		res = res[:strings.Index(res, `"`)]
		v, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		counts[res] = int(v)
	}
	b.sz = sizes{nodes: counts["nodes"], pods: counts["pods"], namespaces: counts["namespaces"], deployments: counts["deployments.apps"],
		services: counts["services"], configMaps: counts["configmaps"], secrets: counts["secrets"], podBytes: b.sz.podBytes}
	b.podBytes = b.sz.podBytes
	return nil
}

// builder creates the objects.
type builder struct {
	cs       kubernetes.Interface
	sz       sizes
	workers  int
	podBytes int // measured JSON size of one pod
	created  atomic.Int64
}

func (b *builder) ns(i int) string { return fmt.Sprintf("team-%03d", i%b.sz.namespaces) }

func (b *builder) build(ctx context.Context) error {
	steps := []struct {
		what string
		n    int
		fn   func(ctx context.Context, i int) error
	}{
		{"namespaces", b.sz.namespaces, b.namespace},
		{"nodes", b.sz.nodes, b.node},
		{"deployments", b.sz.deployments, b.deployment},
		{"services", b.sz.services, b.service},
		{"configmaps", b.sz.configMaps, b.configMap},
		{"secrets", b.sz.secrets, b.secret},
	}
	for _, s := range steps {
		if err := b.parallel(ctx, s.what, s.n, s.fn); err != nil {
			return err
		}
	}
	if b.sz.pods == 0 {
		return nil
	}
	pad, err := b.calibratePod(ctx)
	if err != nil {
		return err
	}
	return b.parallel(ctx, "pods", b.sz.pods, func(ctx context.Context, i int) error { return b.pod(ctx, i, pad) })
}

// parallel runs fn for 0..n-1 on b.workers goroutines, reporting progress.
func (b *builder) parallel(ctx context.Context, what string, n int, fn func(context.Context, int) error) error {
	start := time.Now()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	finished := make(chan struct{})
	go func() {
		for {
			select {
			case <-tick.C:
				d := done.Load()
				fmt.Fprintf(os.Stderr, "bench-scan: %s %d/%d (%.0f/s)\n", what, d, n, float64(d)/time.Since(start).Seconds())
			case <-finished:
				return
			}
		}
	}()
	for range b.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				err := fn(ctx, i)
				if apierrors.IsAlreadyExists(err) {
					err = nil
				}
				if err != nil {
					err = fmt.Errorf("%s %d: %w", what, i, err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				done.Add(1)
				b.created.Add(1)
			}
		}()
	}
	wg.Wait()
	close(finished)
	if p := firstErr.Load(); p != nil {
		return *p
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench-scan: %d %s in %s\n", n, what, time.Since(start).Round(time.Millisecond))
	return nil
}

var create = metav1.CreateOptions{FieldManager: "bench-scan"}

func (b *builder) namespace(ctx context.Context, i int) error {
	_, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: b.ns(i), Labels: map[string]string{"team": b.ns(i), "environment": "production"}}}, create)
	return err
}

func (b *builder) node(ctx context.Context, i int) error {
	name := fmt.Sprintf("node-%05d", i)
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"node.kubernetes.io/instance-type": "m6i.2xlarge", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3),
			"topology.kubernetes.io/region": "region-1", "node-role.kubernetes.io/worker": "",
		}},
		Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256), ProviderID: "aws:///zone/i-" + strconv.Itoa(100000+i)},
	}
	created, err := b.cs.CoreV1().Nodes().Create(ctx, n, create)
	if err != nil {
		return err
	}
	var images []corev1.ContainerImage
	for j := range 40 {
		images = append(images, corev1.ContainerImage{Names: []string{
			fmt.Sprintf("registry.example.com/team-%d/service-%d@sha256:%064d", j%7, j, j),
			fmt.Sprintf("registry.example.com/team-%d/service-%d:v1.%d.0", j%7, j, j)}, SizeBytes: int64(50_000_000 + j*1_000_000)})
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("7800m"), corev1.ResourceMemory: resource.MustParse("30Gi"), corev1.ResourcePods: resource.MustParse("110")},
		Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: now, LastTransitionTime: now},
		},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.1.%d.%d", i/256, i%256)}, {Type: corev1.NodeHostName, Address: name}},
		NodeInfo: corev1.NodeSystemInfo{KernelVersion: lab.DefaultKernelVersion, OSImage: lab.DefaultOSImage, ContainerRuntimeVersion: lab.DefaultRuntime,
			KubeletVersion: lab.DefaultKubeletVersion, OperatingSystem: "linux", Architecture: "amd64", MachineID: fmt.Sprintf("%032d", i), BootID: fmt.Sprintf("boot-%d", i)},
		Images: images,
	}
	_, err = b.cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: "bench-scan"})
	return err
}

func labelsFor(i int) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name": fmt.Sprintf("service-%d", i%1000), "app.kubernetes.io/instance": fmt.Sprintf("service-%d-prod", i%1000),
		"app.kubernetes.io/part-of": fmt.Sprintf("product-%d", i%50), "app.kubernetes.io/managed-by": "Helm",
		"helm.sh/chart": fmt.Sprintf("service-%d-1.2.3", i%1000), "team": fmt.Sprintf("team-%d", i%40),
	}
}

func (b *builder) deployment(ctx context.Context, i int) error {
	replicas := int32(3)
	l := labelsFor(i)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("service-%d", i), Namespace: b.ns(i), Labels: l},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": l["app.kubernetes.io/name"]}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: podSpec(i, "")}},
	}
	_, err := b.cs.AppsV1().Deployments(b.ns(i)).Create(ctx, d, create)
	return err
}

func (b *builder) service(ctx context.Context, i int) error {
	l := labelsFor(i)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("service-%d", i), Namespace: b.ns(i), Labels: l},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": l["app.kubernetes.io/name"]},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}, ClusterIP: corev1.ClusterIPNone},
	}
	_, err := b.cs.CoreV1().Services(b.ns(i)).Create(ctx, s, create)
	return err
}

func (b *builder) configMap(ctx context.Context, i int) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("config-%d", i), Namespace: b.ns(i), Labels: labelsFor(i)},
		Data:       map[string]string{"config.yaml": strings.Repeat("key: value\n", 200)},
	}
	// The large ones are the last ConfigMaps: with no more Deployments
	// than ConfigMaps less them, no workload mounts one (dashboards, CA
	// bundles, Helm 2 records), so a scan need not read their data.
	if j := i - (b.sz.configMaps - b.sz.largeConfigMaps); j >= 0 {
		cm.Name = fmt.Sprintf("large-%d", j)
		cm.Data = map[string]string{"dashboard.json": strings.Repeat("x", 500_000+(j*7919)%(1<<20-500_000-64))}
	}
	_, err := b.cs.CoreV1().ConfigMaps(b.ns(i)).Create(ctx, cm, create)
	return err
}

func (b *builder) secret(ctx context.Context, i int) error {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sh.helm.release.v1.service-%d.v%d", i, 1+i%9), Namespace: b.ns(i),
			Labels: map[string]string{"owner": "helm", "name": fmt.Sprintf("service-%d", i), "status": "deployed", "version": strconv.Itoa(1 + i%9)}},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": bytes.Repeat([]byte("H4sIAAAAAAAA"), 1000)},
	}
	_, err := b.cs.CoreV1().Secrets(b.ns(i)).Create(ctx, s, create)
	return err
}

func podSpec(i int, node string) corev1.PodSpec {
	var env []corev1.EnvVar
	for j := range 25 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%02d", j), Value: fmt.Sprintf("value-%d-%d", i%1000, j)})
	}
	container := func(name, image string, port int32) corev1.Container {
		return corev1.Container{
			Name: name, Image: image, Env: env, Args: []string{"--config=/etc/app/config.yaml", "--log-level=info"},
			Ports: []corev1.ContainerPort{{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}},
			VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "tmp", MountPath: "/tmp"}},
			ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}}, PeriodSeconds: 10},
			LivenessProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/livez", Port: intstr.FromInt32(port)}}, PeriodSeconds: 20},
			ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}
	}
	return corev1.PodSpec{
		NodeName:           node,
		ServiceAccountName: "default",
		Containers: []corev1.Container{
			container("app", fmt.Sprintf("registry.example.com/team-%d/service-%d:v1.%d.0", i%7, i%1000, i%10), 8080),
			container("proxy", "registry.example.com/platform/envoy:v1.31.2", 15001),
		},
		Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("config-%d", i)}}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
	}
}

// calibratePod creates one pod, measures its JSON (managedFields included)
// and returns how many bytes of annotation to add to reach the target size.
func (b *builder) calibratePod(ctx context.Context) (int, error) {
	const probe = "calibrate"
	if err := b.podNamed(ctx, probe, 0, 0); err != nil {
		return 0, err
	}
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces", b.ns(0), "pods", probe).SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	_ = b.cs.CoreV1().Pods(b.ns(0)).Delete(ctx, probe, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	b.podBytes = b.sz.podBytes
	pad := b.sz.podBytes - len(raw)
	if pad < 0 {
		b.podBytes, pad = len(raw), 0
	}
	fmt.Fprintf(os.Stderr, "bench-scan: a pod without padding is %d bytes of JSON; padding %d\n", len(raw), pad)
	return pad, nil
}

func (b *builder) pod(ctx context.Context, i, pad int) error {
	return b.podNamed(ctx, fmt.Sprintf("service-%d-%05d", i%b.sz.deployments, i), i, pad)
}

func (b *builder) podNamed(ctx context.Context, name string, i, pad int) error {
	node := ""
	if b.sz.nodes > 0 {
		node = fmt.Sprintf("node-%05d", i%b.sz.nodes)
	}
	ann := map[string]string{
		"kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z",
		"prometheus.io/scrape":              "true", "prometheus.io/port": "9090",
	}
	if pad > 0 {
		// Stands for the bulky annotations real pods carry (sidecar
		// injection status, checksums, build info).
		ann["example.com/build-info"] = padding(i, pad)
	}
	ctrl := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.ns(i), Labels: labelsFor(i), Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("service-%d-5d8f7c9b4", i%b.sz.deployments), UID: "0b5b5a5e-0000-4000-8000-000000000000", Controller: &ctrl}}},
		Spec: podSpec(i, node),
	}
	created, err := b.cs.CoreV1().Pods(p.Namespace).Create(ctx, p, create)
	if err != nil {
		return err
	}
	now := metav1.Now()
	statuses := func() []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for _, c := range p.Spec.Containers {
			out = append(out, corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image + "@sha256:" + strings.Repeat("0", 64), Ready: true, Started: &ctrl,
				ContainerID: "containerd://" + strings.Repeat("a", 64), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
		}
		return out
	}
	created.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "10.1.0.1", PodIP: fmt.Sprintf("10.%d.%d.%d", 64+i/65536%64, i/256%256, i%256), StartTime: &now, QOSClass: corev1.PodQOSBurstable,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
		ContainerStatuses: statuses(),
	}
	_, err = b.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: "bench-kubelet"})
	return err
}

// padding returns n bytes of base64 text that compresses about as badly as
// real annotations full of hashes and JSON do.
func padding(seed, n int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	buf := make([]byte, n*3/4+3)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(buf)[:n]
}
