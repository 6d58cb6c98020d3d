// Package access checks who talks to the API server and how (incidents 000
// and 002): per-node agents that watch the whole cluster, literal API server
// addresses in workload configuration, the kubernetes Service's endpoints
// against the API servers that exist, which API Priority and Fairness level
// heavy clients share, and the names the serving certificate covers.
package access

import (
	"net/url"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// Category of every check in this package.
const category = "control-plane-access"

// Labels of the API server identity Leases (kube-apiserver >= 1.26).
const (
	identityLabel = "apiserver.kubernetes.io/identity"
	identityValue = "kube-apiserver"
	hostnameLabel = "kubernetes.io/hostname"
)

// identityLease is one API server identity Lease.
type identityLease struct {
	Name, Hostname, Holder string
	// Live is false when the lease has not been renewed within its
	// duration: that API server is gone (the lease is collected later).
	Live    bool
	Renewed time.Time
}

// identityLeases returns the API server identity Leases in kube-system,
// sorted by hostname.
func identityLeases(snap *snapshot.Snapshot, now time.Time) []identityLease {
	var out []identityLease
	for _, l := range snap.Leases {
		if l.Namespace != metav1.NamespaceSystem || l.Labels[identityLabel] != identityValue {
			continue
		}
		out = append(out, describeLease(l, now))
	}
	slices.SortFunc(out, func(a, b identityLease) int { return strings.Compare(a.Hostname+a.Name, b.Hostname+b.Name) })
	return out
}

func describeLease(l coordinationv1.Lease, now time.Time) identityLease {
	il := identityLease{Name: l.Name, Hostname: l.Labels[hostnameLabel]}
	if l.Spec.HolderIdentity != nil {
		il.Holder = *l.Spec.HolderIdentity
	}
	if il.Hostname == "" {
		il.Hostname = il.Holder
	}
	var renewed time.Time
	if l.Spec.RenewTime != nil {
		renewed = l.Spec.RenewTime.Time
	} else if l.Spec.AcquireTime != nil {
		renewed = l.Spec.AcquireTime.Time
	}
	il.Renewed = renewed
	duration := time.Hour // kube-apiserver's default identity lease duration
	if l.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	il.Live = !renewed.IsZero() && !now.After(renewed.Add(duration))
	return il
}

// kubernetesEndpoints returns the addresses the default/kubernetes
// EndpointSlices list (ready or without a ready condition), sorted.
func kubernetesEndpoints(snap *snapshot.Snapshot) (addresses []string, slices_ []string) {
	for _, es := range snap.EndpointSlices {
		if es.Namespace != metav1.NamespaceDefault || es.Labels["kubernetes.io/service-name"] != "kubernetes" {
			continue
		}
		slices_ = append(slices_, es.Name)
		for _, e := range es.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				if !slices.Contains(addresses, a) {
					addresses = append(addresses, a)
				}
			}
		}
	}
	slices.Sort(addresses)
	return addresses, slices_
}

// kubernetesService returns the default/kubernetes Service, if read.
func kubernetesService(snap *snapshot.Snapshot) *corev1.Service {
	for i, s := range snap.Services {
		if s.Namespace == metav1.NamespaceDefault && s.Name == "kubernetes" {
			return &snap.Services[i]
		}
	}
	return nil
}

// inClusterNames are the names in-cluster clients reach the API server by:
// the kubernetes Service's DNS names and cluster IPs.
func inClusterNames(snap *snapshot.Snapshot, clusterDomain string) []string {
	names := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	if clusterDomain != "" {
		names = append(names, "kubernetes.default.svc."+strings.Trim(clusterDomain, "."))
	}
	if s := kubernetesService(snap); s != nil {
		for _, ip := range s.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				names = append(names, ip)
			}
		}
		if len(s.Spec.ClusterIPs) == 0 && s.Spec.ClusterIP != "" {
			names = append(names, s.Spec.ClusterIP)
		}
	}
	return names
}

// isInCluster reports whether host is one of the kubernetes Service's names
// (any cluster domain).
func isInCluster(host string, names []string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return slices.Contains(names, host) || strings.HasPrefix(host, "kubernetes.default.svc.")
}

// apiServer is an address known to be a current API server, and how it is
// known.
type apiServer struct {
	Host string `json:"host"`
	Via  string `json:"via"` // "kubeconfig", "endpointslice default/kubernetes", "identity lease <name>"
}

// currentAPIServers returns every address the snapshot says is a current
// API server: the server of the kubeconfig the read used, the
// default/kubernetes endpoints, and the hostnames of live identity Leases.
func currentAPIServers(snap *snapshot.Snapshot, now time.Time) []apiServer {
	var out []apiServer
	add := func(host, via string) {
		host = address.HostOf(host)
		if host == "" {
			return
		}
		for _, a := range out {
			if a.Host == host {
				return
			}
		}
		out = append(out, apiServer{Host: host, Via: via})
	}
	if server := kubeconfigServer(snap.Info); server != "" {
		add(server, "the kubeconfig premortem used")
	}
	addrs, _ := kubernetesEndpoints(snap)
	for _, a := range addrs {
		add(a, "EndpointSlice of Service default/kubernetes")
	}
	for _, l := range identityLeases(snap, now) {
		if l.Live && l.Hostname != "" {
			add(l.Hostname, "identity Lease kube-system/"+l.Name)
		}
	}
	return out
}

// kubeconfigServer returns the server URL of a live read, or "".
func kubeconfigServer(info snapshot.Info) string {
	if info.APIServer != nil && info.APIServer.Server != "" {
		return info.APIServer.Server
	}
	if s, ok := strings.CutPrefix(info.Source, "live:"); ok {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return s
		}
	}
	return ""
}

// templated is a workload whose pod template the snapshot holds whole.
type templated struct {
	Object check.Object
	Spec   *corev1.PodSpec
	// Pods is how many pods the workload runs (or wants).
	Pods int32
}

// workloads returns the Deployments, DaemonSets, StatefulSets and Jobs of
// snap (not Jobs owned by a CronJob, which repeat its template). Pods are
// trimmed by the read path and CronJobs read as metadata: neither has a
// pod spec here.
func workloads(snap *snapshot.Snapshot) []templated {
	var out []templated
	for i := range snap.Deployments {
		d := &snap.Deployments[i]
		out = append(out, templated{Object: obj("apps", "Deployment", d.Namespace, d.Name), Spec: &d.Spec.Template.Spec, Pods: workload.Replicas(d.Spec.Replicas)})
	}
	for i := range snap.DaemonSets {
		d := &snap.DaemonSets[i]
		out = append(out, templated{Object: obj("apps", "DaemonSet", d.Namespace, d.Name), Spec: &d.Spec.Template.Spec, Pods: daemonSetPods(d)})
	}
	for i := range snap.StatefulSets {
		s := &snap.StatefulSets[i]
		out = append(out, templated{Object: obj("apps", "StatefulSet", s.Namespace, s.Name), Spec: &s.Spec.Template.Spec, Pods: workload.Replicas(s.Spec.Replicas)})
	}
	for i := range snap.Jobs {
		j := &snap.Jobs[i]
		if c := metav1.GetControllerOf(j); c != nil && c.Kind == "CronJob" {
			continue
		}
		out = append(out, templated{Object: obj("batch", "Job", j.Namespace, j.Name), Spec: &j.Spec.Template.Spec, Pods: workload.Replicas(j.Spec.Parallelism)})
	}
	return out
}

// daemonSetPods is how many nodes a DaemonSet runs on.
func daemonSetPods(d *appsv1.DaemonSet) int32 {
	return max(d.Status.DesiredNumberScheduled, d.Status.CurrentNumberScheduled)
}

// serviceAccountOf returns the ServiceAccount a pod spec runs as.
func serviceAccountOf(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

func obj(group, kind, namespace, name string) check.Object {
	return check.Object{Group: group, Kind: kind, Namespace: namespace, Name: name}
}

// inList reports whether namespace/name is in a comma-separated list of
// "namespace/name" entries ("*" for any name).
func inList(list, namespace, name string) bool {
	for e := range strings.SplitSeq(list, ",") { // no slice per workload asked about
		ns, n, ok := strings.Cut(strings.TrimSpace(e), "/")
		if ok && ns == namespace && (n == name || n == "*") {
			return true
		}
	}
	return false
}
