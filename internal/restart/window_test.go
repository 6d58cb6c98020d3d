package restart

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/premortem/premortem/internal/snapshot"
)

func bgpConfig(mesh *bool, restart string) snapshot.BGPConfiguration {
	return snapshot.BGPConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "default"}, NodeToNodeMeshEnabled: mesh, NodeMeshMaxRestartTime: restart}
}

func bgpPeer(name, restart string) snapshot.BGPPeer {
	return snapshot.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}, PeerIP: "192.0.2.1", MaxRestartTime: restart}
}

func TestBGPWindow(t *testing.T) {
	off := false
	tests := []struct {
		name    string
		c       cluster
		skipped []snapshot.Skipped
		want    int64 // 0: no window
		from    string
		note    string
	}{
		{name: "no Calico: no window, no note", c: cluster{}},
		{name: "served, nothing configured: the node mesh at BIRD's default", c: cluster{calico: true}, want: 120,
			from: "node-to-node mesh (nodeMeshMaxRestartTime unset: BIRD's default)"},
		{name: "the shortest peering sets it", c: cluster{calico: true, bgpConfigs: []snapshot.BGPConfiguration{bgpConfig(nil, "5m")},
			bgpPeers: []snapshot.BGPPeer{bgpPeer("cr1-eqiad", ""), bgpPeer("cr2-eqiad", "90s")}}, want: 90, from: "BGPPeer cr2-eqiad (maxRestartTime 90s)"},
		{name: "mesh off: only the peers", c: cluster{calico: true, bgpConfigs: []snapshot.BGPConfiguration{bgpConfig(&off, "30s")},
			bgpPeers: []snapshot.BGPPeer{bgpPeer("cr1", "")}}, want: 120, from: "BGPPeer cr1 (maxRestartTime unset: BIRD's default)"},
		{name: "an invalid duration counts as the default, with a note", c: cluster{calico: true, bgpPeers: []snapshot.BGPPeer{bgpPeer("odd", "soon")}},
			want: 120, note: `maxRestartTime "soon" is not a positive duration`},
		{name: "mesh off and no peer: no window", c: cluster{calico: true, bgpConfigs: []snapshot.BGPConfiguration{bgpConfig(&off, "")}},
			note: "no peering is configured"},
		{name: "forbidden: no window, a note", c: cluster{calico: true}, skipped: []snapshot.Skipped{{Resource: snapshot.BGPPeers, Reason: "forbidden: no"}},
			note: "bgppeers.crd.projectcalico.org were not read (forbidden: no)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := tt.c.snapshot()
			snap.Info.Skipped = append(snap.Info.Skipped, tt.skipped...)
			w, notes := bgpWindow(snap)
			switch {
			case tt.want == 0 && w != nil:
				t.Errorf("window %+v, want none", w)
			case tt.want != 0 && (w == nil || w.Seconds != tt.want):
				t.Errorf("window %+v, want %ds", w, tt.want)
			case tt.from != "" && w.From != tt.from:
				t.Errorf("from %q, want %q", w.From, tt.from)
			}
			if got := strings.Join(notes, "\n"); tt.note == "" && got != "" || !strings.Contains(got, tt.note) {
				t.Errorf("notes %q, want %q", got, tt.note)
			}
		})
	}
}

func readiness(delay, period, success int32) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{InitialDelaySeconds: delay, PeriodSeconds: period, SuccessThreshold: success}
	}
}

// The plan shows the window on typha and calico-node, and warns when their
// own settings make a restart slower than it; an application workload with
// the same settings is not concerned.
func TestWindowWarnings(t *testing.T) {
	startup := func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].StartupProbe = &corev1.Probe{PeriodSeconds: 10, FailureThreshold: 30}
	}
	always := func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways }
	typhaImg, nodeImg := image("calico-typha"), image("calico-node")
	base := cluster{calico: true, bgpPeers: []snapshot.BGPPeer{bgpPeer("cr1", "60s")},
		daemonSets: []appsv1.DaemonSet{daemonSet("kube-system", "calico-node", 2)},
		nodes:      []corev1.Node{node("node-1", typhaImg, nodeImg, image("web")), node("node-2", nodeImg, image("web"))}}
	tests := []struct {
		name     string
		typha    []func(*appsv1.Deployment)
		prepull  bool
		want     []string
		notWants []string
	}{
		{name: "readiness later than the window", typha: []func(*appsv1.Deployment){readiness(55, 10, 2)},
			want: []string{"ready 65s after it starts at the earliest", "image registry.example/calico-typha:1 is not on 1 of 2 nodes a new pod can land on"}},
		{name: "ready within the window", typha: []func(*appsv1.Deployment){readiness(20, 10, 2)},
			notWants: []string{"at the earliest"}},
		{name: "startup allowance and pull policy", typha: []func(*appsv1.Deployment){startup, always},
			want: []string{"startupProbe tolerates 300s of failures", "imagePullPolicy Always"}},
		{name: "pre-pulled: no pull warning", typha: []func(*appsv1.Deployment){always}, prepull: true,
			want: []string{"--prepull pulls it there before the restart"}, notWants: []string{"imagePullPolicy Always", "its pull counts against"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.deployments = []appsv1.Deployment{deployment("kube-system", "calico-typha", 2, tt.typha...), deployment("shop", "web", 2, tt.typha...)}
			p := plan(t, c.snapshot(), Options{Prepull: tt.prepull})
			if p.BGPWindow == nil || p.BGPWindow.Seconds != 60 {
				t.Fatalf("window %+v, want 60s", p.BGPWindow)
			}
			for _, s := range p.Steps {
				want := int64(60)
				if s.Name == "web" {
					want = 0
					if strings.Contains(strings.Join(s.Warnings, "\n"), "window") {
						t.Errorf("%s: window warnings on an application: %q", s.ID, s.Warnings)
					}
				}
				if s.BGPWindowSeconds != want {
					t.Errorf("%s: bgpWindowSeconds %d, want %d", s.ID, s.BGPWindowSeconds, want)
				}
				if s.Name != "calico-typha" {
					continue
				}
				got := strings.Join(s.Warnings, "\n")
				for _, w := range tt.want {
					if !strings.Contains(got, w) {
						t.Errorf("typha warnings %q, want %q", s.Warnings, w)
					}
				}
				for _, w := range tt.notWants {
					if strings.Contains(got, w) {
						t.Errorf("typha warnings %q, want none with %q", s.Warnings, w)
					}
				}
			}
		})
	}
}

// A rollout that makes no progress within the window stops the run before
// --timeout would.
func TestExecuteStopsWhenTheWindowPasses(t *testing.T) {
	node := daemonSet("kube-system", "calico-node", 3, dsRolling)
	node.Annotations = map[string]string{RunAnnotation: run}
	client := fake.NewClientset(&node)
	c := cluster{calico: true, bgpPeers: []snapshot.BGPPeer{bgpPeer("cr1", "1s")}, daemonSets: []appsv1.DaemonSet{node}}
	p := plan(t, c.snapshot(), Options{})
	if p.Steps[0].Action != ActionWait || p.Steps[0].BGPWindowSeconds != 1 {
		t.Fatalf("step %+v, want a wait bounded by the 1s window", p.Steps[0])
	}
	e := &Executor{Client: client, Timeout: time.Minute}
	// The error says which limit ended the wait: the window, not --timeout.
	_, err := e.Execute(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "no progress within the BGP graceful-restart window") {
		t.Fatalf("Execute error %v, want the window to pass", err)
	}
}
