package kube

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Workloads keep their pod templates whole: checks read probes, resources,
// environment, volumes. What templates repeat is shared instead, as pods
// share their label maps: a chart's Deployments repeat their sidecars'
// probes, resource lists, mounts and environment names. Bench-scan's
// Deployments were 12.9 KB of heap each.

// message is a generated Kubernetes API type: its protobuf encoding is what
// makes two values equal.
type message[T any] interface {
	*T
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// internSeed hashes the encodings that key shared template parts.
var internSeed = maphash.MakeSeed()

// appendEncoding appends v's protobuf encoding, length first, to b.
func appendEncoding[T any, PT message[T]](b []byte, v PT) ([]byte, bool) {
	n := v.Size()
	b = binary.AppendUvarint(b, uint64(n))
	start := len(b)
	b = append(b, make([]byte, n)...)
	if _, err := v.MarshalToSizedBuffer(b[start:]); err != nil {
		return b, false
	}
	return b, true
}

// sharedEncoded returns the value the interner holds under tag whose
// encoding (enc, of v) is equal, or v, now held. The key is a hash, not the
// encoding, so an agent's long-lived interner holds no second copy of each
// template; a value found is compared by encoding before it is shared.
func sharedEncoded[V any](in interner, tag string, v V, enc []byte, encode func(V) ([]byte, bool)) V {
	var h [8]byte
	binary.LittleEndian.PutUint64(h[:], maphash.Bytes(internSeed, enc))
	key := tag + string(h[:])
	if old, ok := in[key].(V); ok {
		if b, ok := encode(old); ok && bytes.Equal(b, enc) {
			return old
		}
		return v // a hash collision: keep v, unshared
	}
	in[key] = v
	return v
}

// sharedList returns a list equal to s that the interner holds, or s.
func sharedList[T any, PT message[T]](in interner, tag string, s []T) []T {
	if in == nil || len(s) == 0 {
		return s
	}
	encode := func(s []T) ([]byte, bool) {
		var b []byte
		for i := range s {
			var ok bool
			if b, ok = appendEncoding(b, PT(&s[i])); !ok {
				return nil, false
			}
		}
		return b, true
	}
	enc, ok := encode(s)
	if !ok {
		return s
	}
	return sharedEncoded(in, tag, s, enc, encode)
}

// sharedPtr returns a value equal to *p that the interner holds, or p.
func sharedPtr[T any, PT message[T]](in interner, tag string, p PT) PT {
	if in == nil || p == nil {
		return p
	}
	encode := func(p PT) ([]byte, bool) { return appendEncoding(nil, p) }
	enc, ok := encode(p)
	if !ok {
		return p
	}
	return sharedEncoded(in, tag, p, enc, encode)
}

// intern makes *p the interned copy, writing only when it is not already.
func (in interner) intern(p *string) {
	if v := in.str(*p); unsafe.StringData(v) != unsafe.StringData(*p) {
		*p = v
	}
}

func (in interner) strs(s []string) []string {
	for i := range s {
		s[i] = in.str(s[i])
	}
	return s
}

// template shares what t repeats of other templates. It edits t in place:
// t is a freshly decoded object's.
func (in interner) template(t *corev1.PodTemplateSpec) {
	if in == nil {
		return
	}
	// Annotations are left as they are: often unique (checksums, restart
	// times), and a content key would hold them twice.
	trimMeta(&t.ObjectMeta)
	t.Labels = in.labels(t.Labels)
	s := &t.Spec
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			in.container(&cs[i])
		}
	}
	s.Volumes = sharedList(in, "\x00volumes", s.Volumes)
	s.Tolerations = sharedList(in, "\x00tolerations", s.Tolerations)
	s.TopologySpreadConstraints = sharedList(in, "\x00spread", s.TopologySpreadConstraints)
	s.ImagePullSecrets = sharedList(in, "\x00pullsecrets", s.ImagePullSecrets)
	s.Affinity = sharedPtr(in, "\x00affinity", s.Affinity)
	s.SecurityContext = sharedPtr(in, "\x00podsecurity", s.SecurityContext)
	s.NodeSelector = in.labels(s.NodeSelector)
	s.ServiceAccountName = in.str(s.ServiceAccountName)
	s.DeprecatedServiceAccount = in.str(s.DeprecatedServiceAccount)
	s.PriorityClassName = in.str(s.PriorityClassName)
	s.SchedulerName = in.str(s.SchedulerName)
	s.RestartPolicy = corev1.RestartPolicy(in.str(string(s.RestartPolicy)))
	s.DNSPolicy = corev1.DNSPolicy(in.str(string(s.DNSPolicy)))
}

func (in interner) container(c *corev1.Container) {
	c.Name = in.str(c.Name)
	c.Image = in.str(c.Image)
	c.ImagePullPolicy = corev1.PullPolicy(in.str(string(c.ImagePullPolicy)))
	c.TerminationMessagePath = in.str(c.TerminationMessagePath)
	c.TerminationMessagePolicy = corev1.TerminationMessagePolicy(in.str(string(c.TerminationMessagePolicy)))
	c.WorkingDir = in.str(c.WorkingDir)
	c.Command = in.strs(c.Command)
	c.Args = in.strs(c.Args)
	// Names and values are interned first, so a list kept unshared still
	// shares its strings with the others. The list may be shared already
	// (an agent's store trims a streamed object the reflector trimmed) and
	// read by an evaluation: nothing equal is written.
	for i := range c.Env {
		e := &c.Env[i]
		in.intern(&e.Name)
		in.intern(&e.Value)
		if p := sharedPtr(in, "\x00envfrom", e.ValueFrom); p != e.ValueFrom {
			e.ValueFrom = p
		}
	}
	c.Env = sharedList(in, "\x00env", c.Env)
	c.EnvFrom = sharedList(in, "\x00envsources", c.EnvFrom)
	c.Ports = sharedList(in, "\x00ports", c.Ports)
	c.VolumeMounts = sharedList(in, "\x00mounts", c.VolumeMounts)
	c.VolumeDevices = sharedList(in, "\x00devices", c.VolumeDevices)
	c.ResizePolicy = sharedList(in, "\x00resize", c.ResizePolicy)
	if r := &c.Resources; len(r.Limits)+len(r.Requests)+len(r.Claims) > 0 {
		c.Resources = *sharedPtr(in, "\x00resources", r)
	}
	c.LivenessProbe = sharedPtr(in, "\x00probe", c.LivenessProbe)
	c.ReadinessProbe = sharedPtr(in, "\x00probe", c.ReadinessProbe)
	c.StartupProbe = sharedPtr(in, "\x00probe", c.StartupProbe)
	c.Lifecycle = sharedPtr(in, "\x00lifecycle", c.Lifecycle)
	c.SecurityContext = sharedPtr(in, "\x00security", c.SecurityContext)
}

// workloadMeta trims a workload's own metadata as fullKind's default does,
// and interns its namespace, labels and selector.
func workloadMeta(m *metav1.ObjectMeta, tm *metav1.TypeMeta, sel **metav1.LabelSelector, in interner) {
	trimMeta(m)
	tm.SetGroupVersionKind(schema.GroupVersionKind{})
	m.Namespace = in.str(m.Namespace)
	m.Labels = in.labels(m.Labels)
	if sel != nil {
		*sel = sharedPtr(in, "\x00selector", *sel)
	}
}

func trimDeployment(d *appsv1.Deployment, in interner) appsv1.Deployment {
	workloadMeta(&d.ObjectMeta, &d.TypeMeta, &d.Spec.Selector, in)
	in.template(&d.Spec.Template)
	return *d
}

func trimDaemonSet(d *appsv1.DaemonSet, in interner) appsv1.DaemonSet {
	workloadMeta(&d.ObjectMeta, &d.TypeMeta, &d.Spec.Selector, in)
	in.template(&d.Spec.Template)
	return *d
}

func trimStatefulSet(s *appsv1.StatefulSet, in interner) appsv1.StatefulSet {
	workloadMeta(&s.ObjectMeta, &s.TypeMeta, &s.Spec.Selector, in)
	in.template(&s.Spec.Template)
	return *s
}

func trimJob(j *batchv1.Job, in interner) batchv1.Job {
	// A Job's selector names its own UID: never shared, so not tried.
	workloadMeta(&j.ObjectMeta, &j.TypeMeta, nil, in)
	in.template(&j.Spec.Template)
	return *j
}
