package kube

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/snapshot"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A live read lists ConfigMaps metadata-only and reads the data of only the
// ConfigMaps a check looks into, one GET each by name once the workloads
// are read (configMapsWithData): the ones workload templates mount or
// reference (Deployments, DaemonSets, StatefulSets, Jobs; trimmed Pods keep
// no volumes) (hardcoded-apiserver-address, apiserver-cert-names,
// configmap-near-size-limit) and Helm release records
// (configmap-near-size-limit). A ConfigMap can hold 1 MiB; a cluster's
// thousands of others (dashboards, CA bundles, scripts) no check opens are
// never transferred. Files are read whole, as before.

// ReadByName are the kinds a live read GETs one object at a time besides
// listing them: the RBAC a read needs (internal/rbac) comes from here.
var ReadByName = []snapshot.Resource{snapshot.ConfigMaps}

// defaultGetTimeout bounds one GET when the rest.Config sets no timeout.
const defaultGetTimeout = 30 * time.Second

// getQPS is the rate limit of the ConfigMap GETs (see readConfigMapData).
const getQPS = 200

// configMapsWithData returns the namespace/name of every listed ConfigMap
// whose data a check reads, sorted.
func configMapsWithData(s *snapshot.Snapshot) []string {
	listed := map[string]bool{}
	want := map[string]bool{}
	for _, m := range s.Metadata[snapshot.ConfigMaps] {
		key := m.Namespace + "/" + m.Name
		listed[key] = true
		if helmRecordLabels(m.Labels) {
			want[key] = true
		}
	}
	refer := func(ns string, spec *corev1.PodSpec) {
		for _, u := range address.PodSpecConfig(spec) {
			if key := ns + "/" + u.Name; u.Kind == "ConfigMap" && listed[key] {
				want[key] = true
			}
		}
	}
	for i := range s.Deployments {
		refer(s.Deployments[i].Namespace, &s.Deployments[i].Spec.Template.Spec)
	}
	for i := range s.DaemonSets {
		refer(s.DaemonSets[i].Namespace, &s.DaemonSets[i].Spec.Template.Spec)
	}
	for i := range s.StatefulSets {
		refer(s.StatefulSets[i].Namespace, &s.StatefulSets[i].Spec.Template.Spec)
	}
	for i := range s.Jobs {
		refer(s.Jobs[i].Namespace, &s.Jobs[i].Spec.Template.Spec)
	}
	out := make([]string, 0, len(want))
	for k := range want {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// helmRecordLabels: a Helm release record (Helm 3 with the configmap
// driver, or Helm 2's Tiller).
func helmRecordLabels(l map[string]string) bool {
	return (l["owner"] == "helm" && l["name"] != "") || (l["OWNER"] == "TILLER" && l["NAME"] != "")
}

// configMapFetch starts the GETs of a live read as soon as the kinds that
// decide them are read (ConfigMaps' metadata and the workloads), while the
// longer chains (Pods) are still being listed: one GET per ConfigMap costs
// a round trip, and hundreds of them after the last LIST would add seconds
// to the wall time.
type configMapFetch struct {
	pending map[snapshot.Resource]bool
}

// configMapFetchFor returns the fetch of a read of kinds, or nil when the
// read lists no ConfigMaps.
func configMapFetchFor(kinds []snapshot.Resource) *configMapFetch {
	if !slices.Contains(kinds, snapshot.ConfigMaps) {
		return nil
	}
	f := &configMapFetch{pending: map[snapshot.Resource]bool{}}
	for _, k := range kinds {
		switch k {
		case snapshot.ConfigMaps, snapshot.Deployments, snapshot.DaemonSets, snapshot.StatefulSets, snapshot.Jobs:
			f.pending[k] = true
		}
	}
	return f
}

// kindDone records that res is read (or failed) and reports whether the
// GETs can start now: true once, when the last kind they depend on is done.
func (f *configMapFetch) kindDone(res snapshot.Resource) bool {
	if f == nil || !f.pending[res] {
		return false
	}
	delete(f.pending, res)
	return len(f.pending) == 0
}

// readConfigMapData GETs each ConfigMap of keys (namespace/name), conc at a
// time, each within the config's timeout, and returns them trimmed in the
// order of keys, with the number of GETs sent. A ConfigMap deleted since
// the LIST is left out; any other failure ends the reads and is returned.
func (r *Reader) readConfigMapData(ctx context.Context, keys []string, conc int) ([]corev1.ConfigMap, int, error) {
	timeout := r.Config.Timeout
	if timeout <= 0 {
		timeout = defaultGetTimeout
	}
	// Their own rate limit: the read's (50 a second) would make hundreds of
	// GETs answered from memory the longest part of a scan.
	cfg := rest.CopyConfig(r.Config)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = getQPS, getQPS, nil
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, 0, err
	}
	got := make([]*corev1.ConfigMap, len(keys))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sent     int
		next     = make(chan int)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := interner{}
			for i := range next {
				ns, name, _ := strings.Cut(keys[i], "/")
				gctx, gcancel := context.WithTimeout(ctx, timeout)
				cm, err := typed.CoreV1().ConfigMaps(ns).Get(gctx, name, CachedGet())
				gcancel()
				mu.Lock()
				sent++
				if err != nil && !apierrors.IsNotFound(err) && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				if err == nil {
					t := trimConfigMap(cm, in)
					got[i] = &t
				}
			}
		}()
	}
feed:
	for i := range keys {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, sent, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, sent, err
	}
	out := make([]corev1.ConfigMap, 0, len(keys))
	for _, cm := range got {
		if cm != nil {
			out = append(out, *cm)
		}
	}
	return out, sent, nil
}
