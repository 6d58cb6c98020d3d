package kube

import (
	"encoding/binary"
	"hash/maphash"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// TestTrimDeploymentShares checks that trimmed Deployments equal what was
// decoded (less the trimmed metadata), share the template parts that are
// equal, and keep their own the parts that differ.
func TestTrimDeploymentShares(t *testing.T) {
	decode := func(d appsv1.Deployment) appsv1.Deployment {
		raw, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var out appsv1.Deployment
		if err := out.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := benchDeployment(1, 7), benchDeployment(2, 8) // own env values
	c := benchDeployment(3, 7)                           // a's env values
	a.Annotations = map[string]string{lastApplied: "{}", "keep": "me"}
	b.Spec.Template.Spec.Containers[1].ReadinessProbe.PeriodSeconds = 11

	in := interner{}
	var got []appsv1.Deployment
	for _, d := range []appsv1.Deployment{a, b, c} {
		d := decode(d)
		got = append(got, trimDeployment(&d, in))
	}
	delete(a.Annotations, lastApplied)
	for i, want := range []appsv1.Deployment{a, b, c} {
		if !apiequality.Semantic.DeepEqual(got[i], want) {
			t.Errorf("Deployment %d: trimmed differs from the decoded one", i)
		}
	}

	app := func(i, c int) *corev1.Container { return &got[i].Spec.Template.Spec.Containers[c] }
	for _, tc := range []struct {
		what   string
		x, y   any
		shared bool
	}{
		{"a's and c's equal env", &app(0, 0).Env[0], &app(2, 0).Env[0], true},
		{"a's and b's different env", &app(0, 0).Env[0], &app(1, 0).Env[0], false},
		{"env names of unequal lists", unsafeStringData(app(0, 0).Env[3].Name), unsafeStringData(app(1, 0).Env[3].Name), true},
		{"equal readiness probes", app(0, 1).ReadinessProbe, app(2, 1).ReadinessProbe, true},
		{"a probe with another period", app(0, 1).ReadinessProbe, app(1, 1).ReadinessProbe, false},
		{"equal liveness probes", app(0, 1).LivenessProbe, app(1, 1).LivenessProbe, true},
		{"equal mounts", &app(0, 0).VolumeMounts[0], &app(1, 0).VolumeMounts[0], true},
		{"volumes naming other ConfigMaps", &got[0].Spec.Template.Spec.Volumes[0], &got[1].Spec.Template.Spec.Volumes[0], false},
		{"equal tolerations", &got[0].Spec.Template.Spec.Tolerations[0], &got[1].Spec.Template.Spec.Tolerations[0], true},
	} {
		if same := tc.x == tc.y; same != tc.shared {
			t.Errorf("%s: shared %v, want %v", tc.what, same, tc.shared)
		}
	}
	if app(0, 0).Resources.Limits == nil || !sameMap(app(0, 0).Resources.Limits, app(1, 0).Resources.Limits) {
		t.Error("equal resource limits are not shared")
	}
}

// TestSharedEncodedCollision checks that a value held under the same hash
// but with another encoding is not handed out.
func TestSharedEncodedCollision(t *testing.T) {
	p1 := &corev1.Probe{PeriodSeconds: 1}
	p2 := &corev1.Probe{PeriodSeconds: 2}
	enc, _ := appendEncoding(nil, p2)
	var h [8]byte
	binary.LittleEndian.PutUint64(h[:], maphash.Bytes(internSeed, enc))
	in := interner{"\x00probe" + string(h[:]): p1} // as if p1's hash were p2's
	if got := sharedPtr(in, "\x00probe", p2); got != p2 {
		t.Errorf("got the held probe of period %d for one of period 2", got.PeriodSeconds)
	}
	if held := in["\x00probe"+string(h[:])]; held != p1 {
		t.Errorf("the held probe was replaced by %v", held)
	}
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }

func sameMap(a, b corev1.ResourceList) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestTrimTwice: an agent's store trims again what its reflector trimmed,
// while an evaluation may read the parts the object shares with others.
// The second trim must change nothing and write nothing shared (run with
// -race to see a write).
func TestTrimTwice(t *testing.T) {
	in := interner{}
	first := benchDeployment(1, 7)
	first = trimDeployment(&first, in)
	again := first
	again.Spec.Template.Spec.Containers = slices.Clone(first.Spec.Template.Spec.Containers) // its own, as a streamed object's
	done := make(chan bool)
	go func() {
		defer close(done)
		n := 0
		for range 1000 {
			for _, e := range first.Spec.Template.Spec.Containers[0].Env {
				n += len(e.Name) + len(e.Value)
			}
		}
		_ = n
	}()
	got := trimDeployment(&again, in)
	<-done
	if !apiequality.Semantic.DeepEqual(got, first) {
		t.Error("a second trim changed the Deployment")
	}
	if &got.Spec.Template.Spec.Containers[0].Env[0] != &first.Spec.Template.Spec.Containers[0].Env[0] {
		t.Error("a second trim unshared the env list")
	}
}
