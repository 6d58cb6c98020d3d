package restart

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/snapshot"
)

const run = "r-test"

func plan(t *testing.T, snap *snapshot.Snapshot, opts Options) *Plan {
	t.Helper()
	if opts.RunID == "" {
		opts.RunID = run
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 2
	}
	p, err := NewPlan(snap, opts)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

func ids(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.ID)
	}
	return out
}

func TestOrder(t *testing.T) {
	snap := cluster{
		deployments: []appsv1.Deployment{
			deployment("kube-system", "coredns", 2),
			deployment("kube-system", "calico-typha", 2),
			deployment("kube-system", "calico-kube-controllers", 2),
			deployment("kube-system", "metrics-server", 2),
			deployment("shop", "web", 3),
			deployment("shop", "api", 3),
			deployment("blog", "web", 2),
			deployment("monitoring", "agent-aggregator", 2, systemNodeCritical),
		},
		statefulSets: []appsv1.StatefulSet{statefulSet("shop", "db", 3)},
		daemonSets: []appsv1.DaemonSet{
			daemonSet("kube-system", "kube-proxy", 3),
			daemonSet("kube-system", "calico-node", 3),
			daemonSet("logging", "fluent-bit", 3),
		},
	}.snapshot()
	p := plan(t, snap, Options{Concurrency: 2})
	want := []string{
		// applications: namespace, then kind, then name; waves of 2
		"deployment/blog/web", "daemonset/logging/fluent-bit", "deployment/shop/api", "deployment/shop/web", "statefulset/shop/db",
		// critical: typha (server), calico-node (its client), other CNI, proxy, DNS, the rest
		"deployment/kube-system/calico-typha", "daemonset/kube-system/calico-node", "deployment/kube-system/calico-kube-controllers",
		"daemonset/kube-system/kube-proxy", "deployment/kube-system/coredns",
		"deployment/kube-system/metrics-server", "deployment/monitoring/agent-aggregator",
	}
	if got := ids(p.Steps); !slices.Equal(got, want) {
		t.Fatalf("order:\n got %q\nwant %q", got, want)
	}
	wantWaves := []int{1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for i, s := range p.Steps {
		if s.Wave != wantWaves[i] {
			t.Errorf("%s: wave %d, want %d", s.ID, s.Wave, wantWaves[i])
		}
		if s.Action != ActionRestart {
			t.Errorf("%s: action %s, want restart (gates %+v)", s.ID, s.Action, s.Gates)
		}
		if (i >= 5) != (s.Phase == PhaseCritical) {
			t.Errorf("%s: phase %s", s.ID, s.Phase)
		}
	}
	if p.Waves != 10 || p.Counts.Restart != 12 {
		t.Errorf("waves %d restart %d, want 10 and 12", p.Waves, p.Counts.Restart)
	}
	typha, node := p.Steps[5], p.Steps[6]
	if !slices.Equal(typha.After, []string{"daemonset/kube-system/calico-node"}) || !slices.Equal(node.After, []string{"deployment/kube-system/calico-typha"}) {
		t.Errorf("dependencies: typha after %q, calico-node after %q", typha.After, node.After)
	}
	if got := p.Steps[11].Critical; !slices.Equal(got, []string{"priorityClassName system-node-critical"}) {
		t.Errorf("priority-class critical reasons %q", got)
	}
}

// TestConcurrencyOne: a concurrency of 1 puts each application in a wave of
// its own.
func TestConcurrencyOne(t *testing.T) {
	snap := cluster{deployments: []appsv1.Deployment{deployment("a", "x", 2), deployment("b", "y", 2), deployment("kube-system", "z", 2)}}.snapshot()
	p := plan(t, snap, Options{Concurrency: 1})
	for i, s := range p.Steps {
		if s.Wave != i+1 {
			t.Errorf("%s: wave %d, want %d", s.ID, s.Wave, i+1)
		}
	}
}

type wantStep struct {
	action Action
	gates  []string // unforced gate IDs, in order
	forced []string // forced gate IDs
	warn   string   // substring of a warning, if any
}

func TestGates(t *testing.T) {
	typhaImg, nodeImg := image("calico-typha"), image("calico-node")
	healthyNodes := []corev1.Node{node("n1", typhaImg, nodeImg, image("web"), image("typha-server")), node("n2", typhaImg, nodeImg, image("web"), image("typha-server"))}
	for _, tc := range []struct {
		name  string
		c     cluster
		force []string
		want  map[string]wantStep
	}{{
		name: "single-replica critical, not an application or a DaemonSet",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 1), deployment("shop", "web", 1)},
			daemonSets:  []appsv1.DaemonSet{daemonSet("kube-system", "calico-node", 1)},
			nodes:       healthyNodes,
		},
		want: map[string]wantStep{
			"deployment/kube-system/calico-typha": {action: ActionSkip, gates: []string{GateSingleReplica}},
			"daemonset/kube-system/calico-node":   {action: ActionRestart},
			"deployment/shop/web":                 {action: ActionRestart},
		},
	}, {
		name:  "--force lets a single-replica typha through",
		c:     cluster{deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 1)}, nodes: healthyNodes},
		force: []string{"deployment/kube-system/calico-typha"},
		want:  map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionRestart, forced: []string{GateSingleReplica}}},
	}, {
		name: "PDB that allows no disruption, in the same namespace only",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("shop", "web", 2), deployment("shop", "api", 2), deployment("blog", "web", 2)},
			pdbs:        []policyv1.PodDisruptionBudget{pdb("shop", "web", "web", 0), pdb("shop", "api", "api", 1)},
		},
		want: map[string]wantStep{
			"deployment/shop/web": {action: ActionSkip, gates: []string{GatePDB}},
			"deployment/shop/api": {action: ActionRestart},
			"deployment/blog/web": {action: ActionRestart},
		},
	}, {
		name: "image provably missing on a candidate node gates a critical Deployment",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2)},
			nodes:       []corev1.Node{node("n1", typhaImg), node("n2", "registry.example/other:1")},
		},
		want: map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionSkip, gates: []string{GateImageMissing}}},
	}, {
		name: "image missing only on a node the pod cannot go to",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2, nodeSelector("role", "infra"))},
			nodes: func() []corev1.Node {
				n1, n2 := node("n1", typhaImg), node("n2", "registry.example/other:1")
				n1.Labels["role"] = "infra"
				return []corev1.Node{n1, n2}
			}(),
		},
		want: map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionRestart}},
	}, {
		name: "image missing on a tainted or cordoned node does not count",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2)},
			nodes: func() []corev1.Node {
				tainted, cordoned := node("n2", "registry.example/other:1"), node("n3", "registry.example/other:1")
				tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
				cordoned.Spec.Unschedulable = true
				return []corev1.Node{node("n1", typhaImg), tainted, cordoned}
			}(),
		},
		want: map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionRestart}},
	}, {
		name: "a capped (50-entry) image list proves nothing: warning, not gate",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2)},
			nodes:       []corev1.Node{node("n1", typhaImg), fullNode("n2")},
		},
		want: map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionRestart, warn: "not listed by 1 of 2 nodes"}},
	}, {
		name: "an empty image list proves nothing either",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2)},
			nodes:       []corev1.Node{node("n1", typhaImg), node("n2")},
		},
		want: map[string]wantStep{"deployment/kube-system/calico-typha": {action: ActionRestart, warn: "empty or full"}},
	}, {
		name: "an application missing its image: warning only",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("shop", "web", 2)},
			nodes:       []corev1.Node{node("n1", "registry.example/other:1")},
		},
		want: map[string]wantStep{"deployment/shop/web": {action: ActionRestart, warn: "is not on 1 of 1 nodes"}},
	}, {
		name: "no node the pods can go to",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("shop", "web", 2, nodeSelector("pool", "gone"))},
			nodes:       healthyNodes,
		},
		want: map[string]wantStep{"deployment/shop/web": {action: ActionSkip, gates: []string{GateNoNode}}},
	}, {
		name: "not fully available before starting",
		c: cluster{
			deployments:  []appsv1.Deployment{deployment("shop", "web", 3, unavailable)},
			statefulSets: []appsv1.StatefulSet{statefulSet("shop", "db", 3, func(s *appsv1.StatefulSet) { s.Status.UpdateRevision = "db-2" })},
			daemonSets:   []appsv1.DaemonSet{daemonSet("logging", "agent", 3, dsRolling)},
		},
		want: map[string]wantStep{
			"deployment/shop/web":     {action: ActionSkip, gates: []string{GateNotAvailable}},
			"statefulset/shop/db":     {action: ActionSkip, gates: []string{GateNotAvailable}},
			"daemonset/logging/agent": {action: ActionSkip, gates: []string{GateNotAvailable}},
		},
	}, {
		name: "paused Deployment",
		c:    cluster{deployments: []appsv1.Deployment{deployment("shop", "web", 2, paused)}},
		want: map[string]wantStep{"deployment/shop/web": {action: ActionSkip, gates: []string{GatePaused}}},
	}, {
		name: "typha waits for a calico-node that is still rolling, and the reverse",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2)},
			daemonSets:  []appsv1.DaemonSet{daemonSet("kube-system", "calico-node", 3, dsRolling)},
			nodes:       healthyNodes,
		},
		want: map[string]wantStep{
			"deployment/kube-system/calico-typha": {action: ActionSkip, gates: []string{GateDependencyReady}},
			"daemonset/kube-system/calico-node":   {action: ActionSkip, gates: []string{GateNotAvailable}},
		},
	}, {
		name: "typha-like by label, calico-node-like in another namespace",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("calico-system", "typha-server", 2, unavailable, func(d *appsv1.Deployment) {
				d.Spec.Template.Labels["k8s-app"] = "calico-typha"
			})},
			daemonSets: []appsv1.DaemonSet{daemonSet("calico-system", "calico-node", 3)},
			nodes:      healthyNodes,
		},
		want: map[string]wantStep{
			"deployment/calico-system/typha-server": {action: ActionSkip, gates: []string{GateNotAvailable}},
			"daemonset/calico-system/calico-node":   {action: ActionSkip, gates: []string{GateDependencyReady}},
		},
	}, {
		name: "several gates at once, all forced",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("kube-system", "coredns", 1, unavailable, paused)},
			pdbs:        []policyv1.PodDisruptionBudget{pdb("kube-system", "coredns", "coredns", 0)},
		},
		force: []string{"deploy/kube-system/coredns"},
		want: map[string]wantStep{"deployment/kube-system/coredns": {action: ActionRestart,
			forced: []string{GatePaused, GateNotAvailable, GateSingleReplica, GatePDB}}},
	}, {
		name: "nothing a rollout restart can do",
		c: cluster{
			deployments: []appsv1.Deployment{deployment("shop", "idle", 0)},
			statefulSets: []appsv1.StatefulSet{
				statefulSet("shop", "manual", 2, func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType }),
				statefulSet("shop", "staged", 3, func(s *appsv1.StatefulSet) {
					p := int32(2)
					s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: &p}
				}),
			},
			daemonSets: []appsv1.DaemonSet{daemonSet("logging", "nowhere", 0)},
		},
		want: map[string]wantStep{
			"deployment/shop/idle":      {action: ActionNone},
			"statefulset/shop/manual":   {action: ActionNone},
			"statefulset/shop/staged":   {action: ActionNone},
			"daemonset/logging/nowhere": {action: ActionNone},
		},
	}, {
		name: "resume: done, still rolling, and another run's mark",
		c: cluster{deployments: []appsv1.Deployment{
			deployment("shop", "web", 2, runAnnotated(run)),
			deployment("shop", "api", 2, runAnnotated(run), unavailable),
			deployment("shop", "cart", 2, runAnnotated("r-older")),
			// forced past its pause earlier: nothing to wait for
			deployment("shop", "frozen", 2, runAnnotated(run), paused, unavailable),
			// a gate does not apply to what this run already patched
			deployment("kube-system", "coredns", 1, runAnnotated(run)),
		}},
		want: map[string]wantStep{
			"deployment/shop/web":            {action: ActionDone},
			"deployment/shop/api":            {action: ActionWait},
			"deployment/shop/cart":           {action: ActionRestart},
			"deployment/shop/frozen":         {action: ActionDone},
			"deployment/kube-system/coredns": {action: ActionDone},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var force []Ref
			for _, f := range tc.force {
				r, err := ParseRef(f)
				if err != nil {
					t.Fatal(err)
				}
				force = append(force, r)
			}
			p := plan(t, tc.c.snapshot(), Options{Force: force})
			if len(p.Steps) != len(tc.want) {
				t.Errorf("%d steps, want %d: %q", len(p.Steps), len(tc.want), ids(p.Steps))
			}
			for _, s := range p.Steps {
				want, ok := tc.want[s.ID]
				if !ok {
					t.Errorf("unexpected step %s", s.ID)
					continue
				}
				var gates, forced []string
				for _, g := range s.Gates {
					if g.Message == "" {
						t.Errorf("%s: gate %s has no explanation", s.ID, g.ID)
					}
					if g.Forced {
						forced = append(forced, g.ID)
					} else {
						gates = append(gates, g.ID)
					}
				}
				if s.Action != want.action || !slices.Equal(gates, want.gates) || !slices.Equal(forced, want.forced) {
					t.Errorf("%s: %s gates %q forced %q; want %s gates %q forced %q (%+v)", s.ID, s.Action, gates, forced, want.action, want.gates, want.forced, s.Gates)
				}
				if want.warn != "" && !strings.Contains(strings.Join(s.Warnings, "\n"), want.warn) {
					t.Errorf("%s: warnings %q, want one containing %q", s.ID, s.Warnings, want.warn)
				}
				if want.warn == "" && len(s.Warnings) > 0 {
					t.Errorf("%s: unexpected warnings %q", s.ID, s.Warnings)
				}
				if (s.Action == ActionNone || s.Action == ActionDone || s.Action == ActionWait) && s.Reason == "" {
					t.Errorf("%s: %s without a reason", s.ID, s.Action)
				}
			}
		})
	}
}

func TestResumeReportsOtherRuns(t *testing.T) {
	snap := cluster{deployments: []appsv1.Deployment{
		deployment("a", "x", 2, runAnnotated("r-1")), deployment("a", "y", 2, runAnnotated("r-1")), deployment("a", "z", 2, runAnnotated("r-2")),
	}}.snapshot()
	p := plan(t, snap, Options{RunID: "r-3"})
	want := []RunSeen{{RunID: "r-2", Workloads: 1}, {RunID: "r-1", Workloads: 2}}
	if !slices.Equal(p.OtherRuns, want) {
		t.Errorf("other runs %+v, want %+v", p.OtherRuns, want)
	}
	p = plan(t, snap, Options{RunID: "r-1"})
	if p.Counts.Done != 2 || p.Counts.Restart != 1 {
		t.Errorf("resuming r-1: %+v, want 2 done and 1 restart", p.Counts)
	}
}

func TestScope(t *testing.T) {
	snap := cluster{
		deployments: []appsv1.Deployment{deployment("shop", "web", 2), deployment("blog", "web", 2),
			deployment("kube-system", "calico-typha", 2)},
		daemonSets: []appsv1.DaemonSet{daemonSet("shop", "agent", 2), daemonSet("kube-system", "calico-node", 2, dsRolling)},
	}.snapshot()
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"namespace", Options{Namespace: "shop"}, []string{"deployment/shop/web", "daemonset/shop/agent"}},
		{"kind", Options{Kinds: []Kind{DaemonSet}}, []string{"daemonset/shop/agent", "daemonset/kube-system/calico-node"}},
		{"selector", Options{Selector: labels.SelectorFromSet(labels.Set{"app": "web"})}, []string{"deployment/blog/web", "deployment/shop/web"}},
		// calico-node is out of scope, yet typha still waits for it
		{"dependency outside the selection", Options{Selector: labels.SelectorFromSet(labels.Set{"app": "calico-typha"})}, []string{"deployment/kube-system/calico-typha"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, snap, tc.opts)
			if got := ids(p.Steps); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.name == "dependency outside the selection" && p.Steps[0].Action != ActionSkip {
				t.Errorf("typha %s, want skip while the out-of-scope calico-node rolls", p.Steps[0].Action)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	snap := cluster{deployments: []appsv1.Deployment{deployment("shop", "web", 2)}}.snapshot()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{RunID: run, Concurrency: 1, Force: []Ref{{Kind: Deployment, Namespace: "shop", Name: "wbe"}}}, "no such workload"},
		{Options{RunID: run, Concurrency: 0}, "concurrency"},
		{Options{Concurrency: 1}, "run ID"},
	} {
		if _, err := NewPlan(snap, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.opts, err, tc.want)
		}
	}
}

func TestParseRef(t *testing.T) {
	r, err := ParseRef("ds/kube-system/calico-node")
	if err != nil || r != (Ref{Kind: DaemonSet, Namespace: "kube-system", Name: "calico-node"}) {
		t.Errorf("ParseRef: %+v %v", r, err)
	}
	for _, bad := range []string{"deployment/web", "pod/a/b", "deployment//b"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q): no error", bad)
		}
	}
}
