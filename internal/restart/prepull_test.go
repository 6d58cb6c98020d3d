package restart

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// prepullCluster: typha (two replicas) whose image node-2 lacks, coredns,
// calico-node, an application, and a pre-pull DaemonSet each of this run
// and an earlier one left behind.
func prepullCluster() cluster {
	typhaImg, nodeImg := image("calico-typha"), image("calico-node")
	leftover := func(name, runID string) appsv1.DaemonSet {
		ds := daemonSet("kube-system", name, 2)
		ds.Labels = map[string]string{PrepullLabel: name, managedByLabel: managedBy}
		ds.Annotations = map[string]string{PrepullRunAnnotation: runID, PrepullForAnnotation: "deployment/kube-system/calico-typha"}
		return ds
	}
	return cluster{
		deployments: []appsv1.Deployment{deployment("kube-system", "calico-typha", 2), deployment("kube-system", "coredns", 2), deployment("shop", "web", 2)},
		daemonSets: []appsv1.DaemonSet{daemonSet("kube-system", "calico-node", 2),
			leftover(prepullName(run, "x"), run), leftover("premortem-prepull-0123456789ab", "r-earlier")},
		nodes: []corev1.Node{node("node-1", typhaImg, nodeImg, image("coredns"), image("web")), node("node-2", nodeImg, image("coredns"), image("web"))},
	}
}

func TestPrepullPlan(t *testing.T) {
	without := plan(t, prepullCluster().snapshot(), Options{})
	with := plan(t, prepullCluster().snapshot(), Options{Prepull: true})
	step := func(p *Plan, id string) *Step {
		for i := range p.Steps {
			if p.Steps[i].ID == id {
				return &p.Steps[i]
			}
		}
		t.Fatalf("no step %s in %q", id, ids(p.Steps))
		return nil
	}
	if s := step(without, "deployment/kube-system/calico-typha"); s.Action != ActionSkip || s.Prepull != nil {
		t.Errorf("without --prepull typha: %s prepull %+v, want skip (image-missing)", s.Action, s.Prepull)
	}
	typha := step(with, "deployment/kube-system/calico-typha")
	if typha.Action != ActionRestart || len(typha.Gates) > 0 {
		t.Errorf("with --prepull typha: %s gates %+v, want restart: the pre-pull puts the image there", typha.Action, typha.Gates)
	}
	if pp := typha.Prepull; pp == nil || !slices.Equal(pp.Images, []string{image("calico-typha")}) || pp.Nodes != 2 || pp.DaemonSet != prepullName(run, typha.ID) {
		t.Errorf("typha prepull %+v", typha.Prepull)
	}
	if s := step(with, "deployment/kube-system/coredns"); s.Prepull == nil {
		t.Errorf("coredns (critical): no pre-pull")
	}
	for _, id := range []string{"daemonset/kube-system/calico-node", "deployment/shop/web"} {
		if s := step(with, id); s.Prepull != nil {
			t.Errorf("%s: pre-pull %+v; want none (a DaemonSet's images are on its nodes; applications are not pre-pulled)", id, s.Prepull)
		}
	}
	if len(with.Steps) != 4 {
		t.Errorf("steps %q: the pre-pull DaemonSets are not workloads", ids(with.Steps))
	}
	if len(with.PrepullLeftovers) != 2 || with.PrepullLeftovers[0].RunID != run || with.PrepullLeftovers[1].RunID != "r-earlier" {
		t.Errorf("leftovers %+v", with.PrepullLeftovers)
	}
	if n := len(prepullName("r20260921-100000-abcd", "deployment/"+strings.Repeat("x", 250)+"/y")); n > 63 {
		t.Errorf("pre-pull DaemonSet name of %d characters: a pod name and label value must fit in 63", n)
	}
}

// The DaemonSet lands where the workload may, pulls without running
// anything from the images, and carries the workload's pull credentials.
func TestPrepullDaemonSet(t *testing.T) {
	tmpl := template("calico-typha")
	tmpl.Spec.InitContainers = []corev1.Container{{Name: "init", Image: image("init"), ImagePullPolicy: corev1.PullAlways}}
	tmpl.Spec.NodeSelector = map[string]string{"pool": "system"}
	tmpl.Spec.Tolerations = []corev1.Toleration{{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists}}
	tmpl.Spec.Affinity = &corev1.Affinity{
		NodeAffinity:    &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
		PodAntiAffinity: &corev1.PodAntiAffinity{},
	}
	tmpl.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	tmpl.Spec.ServiceAccountName = "calico-typha"
	tmpl.Spec.HostNetwork = true
	s := &Step{Ref: Ref{Kind: Deployment, Namespace: "kube-system", Name: "calico-typha"}, ID: "deployment/kube-system/calico-typha",
		Prepull: &Prepull{DaemonSet: "premortem-prepull-x", Images: templateImages(&tmpl)}}
	ds := prepullDaemonSet("r 1", s, &tmpl, DefaultPauseImage)
	spec := ds.Spec.Template.Spec
	if ds.Namespace != "kube-system" || ds.Annotations[PrepullRunAnnotation] != "r 1" || ds.Labels[PrepullRunLabel] == "r 1" || !isPrepull(ds) {
		t.Errorf("metadata %+v: want the run in an annotation, a valid label value, the pre-pull label", ds.ObjectMeta)
	}
	if spec.NodeSelector["pool"] != "system" || len(spec.Tolerations) != 1 || spec.Affinity.NodeAffinity == nil || spec.Affinity.PodAntiAffinity != nil {
		t.Errorf("node constraints %+v %+v %+v: want the node selector, tolerations and node affinity only", spec.NodeSelector, spec.Tolerations, spec.Affinity)
	}
	if len(spec.ImagePullSecrets) != 1 || spec.ServiceAccountName != "calico-typha" || *spec.AutomountServiceAccountToken || !spec.HostNetwork {
		t.Errorf("pull credentials and network: %+v", spec)
	}
	if len(spec.Containers) != 1 || spec.Containers[0].Image != DefaultPauseImage || len(spec.InitContainers) != 0 {
		t.Fatalf("containers %+v: want one pause container, nothing run from the images", spec.Containers)
	}
	var pulled []string
	for _, v := range spec.Volumes {
		pulled = append(pulled, v.Image.Reference+" "+string(v.Image.PullPolicy))
	}
	if want := []string{image("init") + " Always", image("calico-typha") + " IfNotPresent"}; !slices.Equal(pulled, want) {
		t.Errorf("image volumes %q, want %q", pulled, want)
	}
}

// actionsOn lists the verbs sent for a resource, in order.
func actionsOn(c *fake.Clientset, resource string) []string {
	var out []string
	for _, a := range c.Actions() {
		if a.GetResource().Resource == resource && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

// Leftovers of this run go first; the pre-pull comes before the PATCH and
// its removal after; another run's leftover is left alone.
func TestExecutePrepull(t *testing.T) {
	c := prepullCluster()
	var objs []runtime.Object
	for i := range c.deployments {
		objs = append(objs, &c.deployments[i])
	}
	for i := range c.daemonSets {
		objs = append(objs, &c.daemonSets[i])
	}
	client := fake.NewClientset(objs...)
	p := plan(t, c.snapshot(), Options{Prepull: true, Kinds: []Kind{Deployment}, Selector: nil})
	var progress strings.Builder
	e := &Executor{Client: client, Timeout: 5 * time.Second, Progress: &progress}
	if _, err := e.Execute(context.Background(), p); err != nil {
		t.Fatalf("Execute: %v\n%s", err, progress.String())
	}
	var order []string
	for _, a := range client.Actions() {
		switch a := a.(type) {
		case k8stesting.CreateAction:
			order = append(order, "create "+a.GetObject().(*appsv1.DaemonSet).Name)
		case k8stesting.DeleteAction:
			order = append(order, "delete "+a.GetName())
		case k8stesting.PatchAction:
			order = append(order, "patch "+a.GetName())
		}
	}
	typhaDS, corednsDS := prepullName(run, "deployment/kube-system/calico-typha"), prepullName(run, "deployment/kube-system/coredns")
	want := []string{"delete " + prepullName(run, "x"), "patch web",
		"create " + typhaDS, "patch calico-typha", "delete " + typhaDS,
		"create " + corednsDS, "patch coredns", "delete " + corednsDS}
	if !slices.Equal(order, want) {
		t.Errorf("requests\n %q\nwant\n %q", order, want)
	}
	left, err := client.AppsV1().DaemonSets("kube-system").List(context.Background(), metav1.ListOptions{LabelSelector: PrepullLabel})
	if err != nil || len(left.Items) != 1 || left.Items[0].Annotations[PrepullRunAnnotation] != "r-earlier" {
		t.Errorf("pre-pull DaemonSets left: %+v %v; want only the earlier run's", left, err)
	}
	if !strings.Contains(progress.String(), "pre-pulled 1 image(s) of deployment/kube-system/calico-typha") {
		t.Errorf("progress %q", progress.String())
	}
}

// typhaOnly: one critical Deployment, to pre-pull and restart.
func typhaOnly(t *testing.T) (*fake.Clientset, *Plan) {
	t.Helper()
	typha := deployment("kube-system", "calico-typha", 2)
	client := fake.NewClientset(&typha)
	return client, plan(t, cluster{deployments: []appsv1.Deployment{typha}}.snapshot(), Options{Prepull: true})
}

// Interrupted while the images are being pulled: the DaemonSet is removed
// all the same, and the workload is not restarted.
func TestExecutePrepullInterrupted(t *testing.T) {
	client, p := typhaOnly(t)
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "daemonsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ds := a.(k8stesting.CreateAction).GetObject().(*appsv1.DaemonSet)
		ds.Status.DesiredNumberScheduled = 3 // pulling: never ready here
		defer cancel()
		return false, nil, nil
	})
	_, err := (&Executor{Client: client, Timeout: time.Minute}).Execute(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Execute error %v, want an interruption", err)
	}
	if got := actionsOn(client, "daemonsets"); !slices.Equal(got, []string{"create", "delete"}) {
		t.Errorf("DaemonSet requests %q, want create then delete", got)
	}
	if len(patches(client)) != 0 {
		t.Errorf("restarted after an interrupted pre-pull")
	}
}

// An API server without image volumes drops them: premortem removes the
// DaemonSet and stops rather than wait for pulls that never happen.
func TestExecutePrepullWithoutImageVolumes(t *testing.T) {
	client, p := typhaOnly(t)
	client.PrependReactor("create", "daemonsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ds := a.(k8stesting.CreateAction).GetObject().(*appsv1.DaemonSet)
		for i := range ds.Spec.Template.Spec.Volumes {
			ds.Spec.Template.Spec.Volumes[i].Image = nil
		}
		return false, nil, nil
	})
	_, err := (&Executor{Client: client, Timeout: time.Minute}).Execute(context.Background(), p)
	if !errors.Is(err, errNoImageVolumes) {
		t.Fatalf("Execute error %v, want errNoImageVolumes", err)
	}
	if got := actionsOn(client, "daemonsets"); !slices.Equal(got, []string{"create", "delete"}) || len(patches(client)) != 0 {
		t.Errorf("DaemonSet requests %q, %d PATCHes; want create, delete, none", got, len(patches(client)))
	}
}

// SIGTERM while the create is in flight: the API server created the
// DaemonSet but premortem never read the answer. It is removed all the
// same (found by the e2e test under load).
func TestExecutePrepullCreateCancelled(t *testing.T) {
	client, p := typhaOnly(t)
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "daemonsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ds := a.(k8stesting.CreateAction).GetObject().(*appsv1.DaemonSet)
		if err := client.Tracker().Create(a.GetResource(), ds, ds.Namespace); err != nil {
			t.Fatal(err)
		}
		cancel()
		return true, nil, context.Canceled
	})
	_, err := (&Executor{Client: client, Timeout: time.Minute}).Execute(ctx, p)
	if err == nil {
		t.Fatal("Execute succeeded after a cancelled create")
	}
	if got := actionsOn(client, "daemonsets"); !slices.Equal(got, []string{"create", "delete"}) {
		t.Errorf("DaemonSet requests %q, want create then delete", got)
	}
	left, err := client.AppsV1().DaemonSets("kube-system").List(context.Background(), metav1.ListOptions{LabelSelector: PrepullLabel})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("pre-pull DaemonSets left: %d (%v)", len(left.Items), err)
	}
	if len(patches(client)) != 0 {
		t.Errorf("restarted after a cancelled pre-pull")
	}
}
