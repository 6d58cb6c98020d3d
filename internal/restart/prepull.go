package restart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/premortem/premortem/internal/output"
)

// Pre-pull (--prepull): before a critical Deployment or StatefulSet is
// restarted, a short-lived DaemonSet with the workload's node constraints
// pulls its images onto every node a new pod may land on (incident 003: the
// new typha pod landed on a node without its image and the pull outlasted
// the BGP graceful-restart window).
//
// How the images are pulled without running them: each is an image volume
// (a pod volume the kubelet fills by pulling the image, GA in Kubernetes
// 1.36, on by default since 1.35; containerd 2.1+ or CRI-O 1.31+), mounted
// read-only into one pause container. Nothing from the images is executed,
// so images without a shell (typha is built from scratch) work, and the pod
// becomes Ready only once every image is on the node: the DaemonSet's own
// rollout status ("every scheduled pod ready") is the signal, watched as
// any workload is. An API server without image volumes drops the field on
// create; premortem then deletes the DaemonSet and stops with an error
// instead of waiting for pulls that would never happen.

// Labels and annotations on a pre-pull DaemonSet: the plan finds the ones
// an interrupted run left by PrepullLabel, and the run that made one by
// PrepullRunAnnotation.
const (
	PrepullLabel          = "premortem.dev/prepull"
	PrepullRunLabel       = "premortem.dev/prepull-run"
	PrepullRunAnnotation  = "premortem.dev/prepull-run"
	PrepullForAnnotation  = "premortem.dev/prepull-for"
	managedByLabel        = "app.kubernetes.io/managed-by"
	managedBy             = "premortem"
	prepullNamePrefix     = "premortem-prepull-"
	prepullDeleteDeadline = 30 * time.Second
)

// DefaultPauseImage is the container every pre-pull pod runs: the default
// sandbox image of containerd and CRI-O, so already on every node that runs
// pods. --prepull-image replaces it (a mirror, for air-gapped clusters).
const DefaultPauseImage = "registry.k8s.io/pause:3.10"

// Prepull is the pre-pull a step does before its restart.
type Prepull struct {
	// DaemonSet is the pre-pull DaemonSet's name, in the step's namespace:
	// the same for the same run and workload, so a resumed run finds it.
	DaemonSet string   `json:"daemonSet"`
	Images    []string `json:"images"`
	// Nodes is how many nodes a new pod may land on, at plan time (0 when
	// nodes were not read).
	Nodes int `json:"nodes"`
}

// PrepullLeftover is a pre-pull DaemonSet found in the cluster when the plan
// was made: an earlier invocation was killed before it removed it. --apply
// removes those of its own run first; another run's are removed when that
// run is resumed (or by hand).
type PrepullLeftover struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	RunID     string `json:"runId"`
	For       string `json:"for,omitempty"`
}

// prepullName is the DaemonSet's name for a run and workload.
func prepullName(runID, id string) string {
	sum := sha256.Sum256([]byte(runID + "\x00" + id))
	return prepullNamePrefix + hex.EncodeToString(sum[:6])
}

// runLabel is runID as a label value: itself when valid, else a hash.
func runLabel(runID string) string {
	if len(validation.IsValidLabelValue(runID)) == 0 {
		return runID
	}
	sum := sha256.Sum256([]byte(runID))
	return "h" + hex.EncodeToString(sum[:8])
}

// isPrepull reports whether ds is a pre-pull DaemonSet (never a workload
// to restart).
func isPrepull(ds *appsv1.DaemonSet) bool {
	_, ok := ds.Labels[PrepullLabel]
	return ok
}

// prepullDaemonSet builds the DaemonSet that pulls the images of t onto
// the nodes its pods may land on: the same node selector, required and
// preferred node affinity, tolerations and host network; its pull secrets
// and service account (whose pull secrets the kubelet also uses); nothing
// that runs the images.
func prepullDaemonSet(runID string, s *Step, t *corev1.PodTemplateSpec, pause string) *appsv1.DaemonSet {
	name := s.Prepull.DaemonSet
	meta := map[string]string{managedByLabel: managedBy, PrepullRunLabel: runLabel(runID), PrepullLabel: name}
	spec := corev1.PodSpec{
		NodeSelector:                  t.Spec.NodeSelector,
		Tolerations:                   t.Spec.Tolerations,
		ImagePullSecrets:              t.Spec.ImagePullSecrets,
		ServiceAccountName:            t.Spec.ServiceAccountName,
		AutomountServiceAccountToken:  new(false),
		HostNetwork:                   t.Spec.HostNetwork,
		EnableServiceLinks:            new(false),
		TerminationGracePeriodSeconds: new(int64(0)),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   new(true),
			RunAsUser:      new(int64(65535)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if a := t.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		spec.Affinity = &corev1.Affinity{NodeAffinity: a.NodeAffinity.DeepCopy()}
	}
	policy := map[string]corev1.PullPolicy{}
	for _, cs := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for _, c := range cs {
			if c.ImagePullPolicy == corev1.PullAlways {
				policy[c.Image] = corev1.PullAlways
			}
		}
	}
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("8Mi")}
	pauseC := corev1.Container{
		Name: "pause", Image: pause,
		Resources: corev1.ResourceRequirements{Requests: small, Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			ReadOnlyRootFilesystem:   new(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	for i, img := range s.Prepull.Images {
		vol := fmt.Sprintf("image-%d", i)
		p := policy[img]
		if p == "" {
			p = corev1.PullIfNotPresent
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			Image: &corev1.ImageVolumeSource{Reference: img, PullPolicy: p}}})
		pauseC.VolumeMounts = append(pauseC.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: "/prepull/" + vol, ReadOnly: true})
	}
	spec.Containers = []corev1.Container{pauseC}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: meta,
			Annotations: map[string]string{PrepullRunAnnotation: runID, PrepullForAnnotation: s.ID}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{PrepullLabel: name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(meta)}, Spec: spec},
		},
	}
}

// errNoImageVolumes: the API server dropped the image volumes (it does not
// serve them), so the pods would pull nothing.
var errNoImageVolumes = errors.New("the API server dropped the pre-pull DaemonSet's image volumes: --prepull needs image volumes (Kubernetes 1.35 or later, or the ImageVolume feature gate); restart without --prepull, or pre-pull the images yourself")

// prepull creates the step's pre-pull DaemonSet (or adopts the one an
// interrupted invocation of this run left), waits until its pod is ready on
// every node it is scheduled to, and returns the function that removes it.
// The removal runs even when ctx is cancelled (Ctrl-C, SIGTERM): it uses a
// context of its own.
func (e *Executor) prepull(ctx context.Context, runID string, s *Step) (func(), error) {
	none := func() {}
	kc := clientFor(e.Client, s.Kind)
	obj, err := kc.get(ctx, s.Namespace, s.Name)
	if apierrors.IsNotFound(err) {
		return none, errGone
	}
	if err != nil {
		return none, fmt.Errorf("get %s: %w", s.ID, err)
	}
	pause := e.PauseImage
	if pause == "" {
		pause = DefaultPauseImage
	}
	want := prepullDaemonSet(runID, s, obj.template(), pause)
	dss := e.Client.AppsV1().DaemonSets(s.Namespace)
	t0 := time.Now()
	got, err := dss.Create(ctx, want, metav1.CreateOptions{FieldManager: "premortem-restart"})
	if err != nil && createMayHaveHappened(err) {
		// Cancelled (SIGTERM) or cut off after the request was sent: the
		// API server may have created it all the same. Only the create's
		// own error says so: a failed Get of an existing one must not
		// remove a DaemonSet not known to be this run's.
		e.removePrepull(ctx, s.Namespace, want.Name)
		return none, fmt.Errorf("pre-pull for %s: create DaemonSet %s/%s: %w", s.ID, s.Namespace, want.Name, err)
	}
	if apierrors.IsAlreadyExists(err) {
		got, err = dss.Get(ctx, want.Name, metav1.GetOptions{})
		if err == nil && got.Annotations[PrepullRunAnnotation] != runID {
			return none, fmt.Errorf("pre-pull for %s: DaemonSet %s/%s exists and is not this run's", s.ID, s.Namespace, want.Name)
		}
	}
	if err != nil {
		return none, fmt.Errorf("pre-pull for %s: create DaemonSet %s/%s: %w", s.ID, s.Namespace, want.Name, err)
	}
	e.log().Info("pre-pull DaemonSet created", "workload", s.ID, "daemonset", s.Namespace+"/"+want.Name, "images", s.Prepull.Images)
	cleanup := func() { e.removePrepull(ctx, s.Namespace, want.Name) }
	for _, v := range got.Spec.Template.Spec.Volumes {
		if v.Image == nil {
			cleanup()
			return none, errNoImageVolumes
		}
	}
	ds, err := e.waitFor(ctx, Ref{Kind: DaemonSet, Namespace: s.Namespace, Name: want.Name}, "done pulling "+s.ID+"'s images", 0, daemonSetObject{got})
	if err != nil {
		cleanup()
		return none, fmt.Errorf("pre-pull: %w", err)
	}
	if e.Progress != nil {
		nodes := int32(0)
		if d, ok := ds.(daemonSetObject); ok {
			nodes = d.Status.NumberReady
		}
		fmt.Fprintf(e.Progress, "  pre-pulled %d image(s) of %s onto %d node(s) in %s\n", len(s.Prepull.Images), output.Text(s.ID),
			nodes, time.Since(t0).Round(100*time.Millisecond))
	}
	return cleanup, nil
}

// createMayHaveHappened tells a failed create whose outcome is unknown: no
// answer from the API server (a cancelled context, a cut connection), or
// its timeout, which it answers while the write may still land.
func createMayHaveHappened(err error) bool {
	var status apierrors.APIStatus
	return !errors.As(err, &status) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}

// removePrepull deletes a pre-pull DaemonSet; its pods go with it (the
// garbage collector's background deletion). It has its own deadline, so an
// interrupted run still cleans up.
func (e *Executor) removePrepull(ctx context.Context, ns, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prepullDeleteDeadline)
	defer cancel()
	background := metav1.DeletePropagationBackground
	err := e.Client.AppsV1().DaemonSets(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
	switch {
	case err == nil || apierrors.IsNotFound(err):
		e.log().Info("pre-pull DaemonSet removed", "daemonset", ns+"/"+name)
	default:
		e.log().Error("pre-pull DaemonSet not removed", "daemonset", ns+"/"+name, "err", err)
		if e.Progress != nil {
			fmt.Fprintf(e.Progress, "  could not remove pre-pull DaemonSet %s/%s: %s (re-run to remove it, or: kubectl delete daemonset -n %s %s)\n",
				output.Text(ns), output.Text(name), output.Text(err.Error()), output.Text(ns), output.Text(name))
		}
	}
}

// removeLeftovers deletes the pre-pull DaemonSets this run left when an
// earlier invocation was killed before it could.
func (e *Executor) removeLeftovers(ctx context.Context, p *Plan) {
	for _, l := range p.PrepullLeftovers {
		if l.RunID != p.RunID {
			continue
		}
		e.removePrepull(ctx, l.Namespace, l.Name)
		if e.Progress != nil {
			fmt.Fprintf(e.Progress, "  removed pre-pull DaemonSet %s/%s, left by an interrupted invocation of this run\n", output.Text(l.Namespace), output.Text(l.Name))
		}
	}
}
