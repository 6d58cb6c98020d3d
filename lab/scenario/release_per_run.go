package scenario

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
)

// Releases is how many per-run Helm releases scenario 001 installs: enough to
// cross premortem's default thresholds several times over, small enough to
// apply in seconds.
const Releases = 250

// ReleaseNamespace is where scenario 001 installs its releases.
const ReleaseNamespace = "mw-script"

var wikis = []string{"enwiki", "mrwiki", "dewiki", "frwiki", "commonswiki", "jawiki", "eswiki"}

// ReleaseName is the name of scenario 001's i-th release, as a tool that
// names releases after a random run ID would.
func ReleaseName(i int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "run-%d", i)
	return fmt.Sprintf("mw-script-%08x", h.Sum32())
}

func releasePerRun(ctx context.Context, e *env) error {
	if err := singleTypha(ctx, e); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ReleaseNamespace}}
	if _, err := e.cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}

	// Render every release first, then create with a few workers.
	var all [][]*unstructured.Unstructured
	for i := range Releases {
		name := ReleaseName(i)
		payload, err := helmReleasePayload(name, ReleaseNamespace, "mwscript", "0.1.2")
		if err != nil {
			return err
		}
		rendered, err := render("001-release-per-run.yaml", map[string]string{
			"Release": name, "Wiki": wikis[i%len(wikis)], "ReleasePayload": payload,
		})
		if err != nil {
			return err
		}
		objs, err := decode("001-release-per-run.yaml", rendered)
		if err != nil {
			return err
		}
		all = append(all, objs)
	}
	if err := parallel(8, len(all), func(i int) error {
		if err := e.apply.create(ctx, all[i]); err != nil {
			return err
		}
		return finishJob(ctx, e, ReleaseName(i), time.Duration(Releases-i)*time.Minute)
	}); err != nil {
		return err
	}
	return crashLoopCalicoNode(ctx, e, 2)
}

// finishJob writes a Succeeded status on a Job the lab manages (spec.managedBy),
// as if it ran age ago.
func finishJob(ctx context.Context, e *env, name string, age time.Duration) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		jobs := e.cluster.Client.BatchV1().Jobs(ReleaseNamespace)
		job, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if job.Status.CompletionTime != nil {
			return nil
		}
		start := metav1.NewTime(time.Now().Add(-age))
		done := metav1.NewTime(start.Add(40 * time.Second))
		job.Status.StartTime = &start
		job.Status.CompletionTime = &done
		job.Status.Succeeded = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done, Reason: "CompletionsReached"},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done, Reason: "CompletionsReached"},
		}
		_, err = jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{})
		return err
	})
}

// crashLoopCalicoNode waits for calico-node to run on every base node, then
// writes a CrashLoopBackOff status on n of its pods, as calico-node looked
// when it hit its limits (incident 001). kwok leaves running pods alone, and
// the DaemonSet controller recomputes numberReady from them.
func crashLoopCalicoNode(ctx context.Context, e *env, n int) error {
	pods, err := waitPods(ctx, e, "kube-system", "k8s-app=calico-node", 60*time.Second, func(pods []corev1.Pod) bool {
		ready := 0
		for _, p := range pods {
			if podReady(p) && strings.HasPrefix(p.Spec.NodeName, "lab-node-") {
				ready++
			}
		}
		return ready >= len(baseNodes)
	})
	if err != nil {
		return err
	}
	marked := 0
	for _, p := range pods {
		if marked == n {
			break
		}
		if !podReady(p) {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := e.cluster.Client.CoreV1().Pods("kube-system").Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			for i := range pod.Status.Conditions {
				if t := pod.Status.Conditions[i].Type; t == corev1.PodReady || t == corev1.ContainersReady {
					pod.Status.Conditions[i].Status = corev1.ConditionFalse
					pod.Status.Conditions[i].Reason = "ContainersNotReady"
					pod.Status.Conditions[i].LastTransitionTime = now
				}
			}
			for i := range pod.Status.ContainerStatuses {
				cs := &pod.Status.ContainerStatuses[i]
				cs.Ready = false
				started := false
				cs.Started = &started
				cs.RestartCount = 21
				cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
					Message: "back-off 5m0s restarting failed container=calico-node"}}
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
					Message: "Failed to initialize Calico datastore: context deadline exceeded", FinishedAt: now}}
			}
			_, err = e.cluster.Client.CoreV1().Pods("kube-system").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("mark %s crash-looping: %w", p.Name, err)
		}
		marked++
	}
	return nil
}

// parallel runs fn(0..n-1) with at most workers at once; the first error wins.
func parallel(workers, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
