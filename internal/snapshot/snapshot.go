// Package snapshot holds what premortem read from a cluster: the objects its
// checks need (trimmed of fields no check uses), plus a record of what could
// not be read. A live read and an offline file both produce a Snapshot, so
// every check is a pure function of one.
//
// The package depends only on k8s.io/api and k8s.io/apimachinery types: checks
// import it without pulling in a client.
package snapshot

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Snapshot is one read of a cluster.
type Snapshot struct {
	Info Info

	// Kinds read in full (then trimmed: managedFields and bulky fields dropped).
	Namespaces           []corev1.Namespace
	Nodes                []corev1.Node
	Pods                 []corev1.Pod
	Services             []corev1.Service
	EndpointSlices       []discoveryv1.EndpointSlice
	Deployments          []appsv1.Deployment
	DaemonSets           []appsv1.DaemonSet
	StatefulSets         []appsv1.StatefulSet
	Jobs                 []batchv1.Job
	PodDisruptionBudgets []policyv1.PodDisruptionBudget
	APIServices          []APIService

	// Kinds read in full for the control-plane access checks (who talks to
	// the API server, and how). ConfigMaps keep their data (binaryData is
	// dropped); a live read keeps only those workloads use and Helm
	// records (kube/configmapdata.go), a file all. Metadata[ConfigMaps]
	// holds every one. Secret data is never in a snapshot.
	ConfigMaps                  []corev1.ConfigMap
	Leases                      []coordinationv1.Lease
	ClusterRoles                []rbacv1.ClusterRole
	ClusterRoleBindings         []rbacv1.ClusterRoleBinding
	FlowSchemas                 []flowcontrolv1.FlowSchema
	PriorityLevelConfigurations []flowcontrolv1.PriorityLevelConfiguration

	// Kinds read in full for the breadth checks: admission webhooks (their
	// rules, failure policy, timeouts, services and CA bundles), autoscalers,
	// quotas, volume claims, priority classes and Service CIDRs.
	ValidatingWebhookConfigurations []admissionregistrationv1.ValidatingWebhookConfiguration
	MutatingWebhookConfigurations   []admissionregistrationv1.MutatingWebhookConfiguration
	HorizontalPodAutoscalers        []autoscalingv2.HorizontalPodAutoscaler
	ResourceQuotas                  []corev1.ResourceQuota
	PersistentVolumeClaims          []corev1.PersistentVolumeClaim
	PriorityClasses                 []schedulingv1.PriorityClass
	ServiceCIDRs                    []networkingv1.ServiceCIDR

	// Calico's BGP kinds (calico.go), read when served: the BGP
	// graceful-restart window `premortem restart` waits within.
	BGPConfigurations []BGPConfiguration
	BGPPeers          []BGPPeer

	// Kinds read metadata-only (names, labels, annotations, owners, timestamps),
	// keyed by resource. ConfigMaps, Secrets, NetworkPolicies, ReplicaSets, ...
	// Secret data is never read.
	Metadata map[Resource][]metav1.PartialObjectMetadata
}

// Info says where a snapshot came from and what it is missing. A scan with
// anything in Skipped or DiscoveryFailures is incomplete and never reported
// as clean.
type Info struct {
	// Source is "live:<server URL>" or the file path(s) read.
	Source string `json:"source"`
	// TakenAt is when the read finished (or the file's own record of it).
	TakenAt time.Time `json:"takenAt"`
	// ServerVersion is the API server's gitVersion, when known.
	ServerVersion string `json:"serverVersion,omitempty"`
	// Skipped lists kinds that were not read, and why (RBAC, errors).
	Skipped []Skipped `json:"skipped,omitempty"`
	// DiscoveryFailures lists API groups whose discovery failed, typically
	// because an aggregated APIService is unavailable.
	DiscoveryFailures []DiscoveryFailure `json:"discoveryFailures,omitempty"`
	// APIServer is what the live read saw of the API server it talked to
	// (the server in the kubeconfig): its URL and serving certificate.
	APIServer *APIServer `json:"apiServer,omitempty"`
	// Counts are the object counts of served kinds whose objects were not
	// read: one limit=1 LIST each, its remainingItemCount (custom
	// resources included). Saved in snapshot files, not in scan output.
	Counts []Count `json:"-"`
}

// Count is how many objects of a kind the API server holds, all namespaces.
type Count struct {
	Resource   Resource `json:"resource"`
	Namespaced bool     `json:"namespaced"`
	Count      int64    `json:"count"`
}

// APIServer describes the API server a live read connected to.
type APIServer struct {
	// Server is the URL from the kubeconfig in use.
	Server string `json:"server"`
	// Certificate is the serving certificate presented in the TLS handshake;
	// nil when it could not be read (CertificateError says why) or the
	// server is not HTTPS.
	Certificate      *Certificate `json:"certificate,omitempty"`
	CertificateError string       `json:"certificateError,omitempty"`
}

// Certificate is the part of an X.509 certificate premortem checks: the
// names it covers and when it expires.
type Certificate struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer,omitempty"`
	DNSNames    []string  `json:"dnsNames,omitempty"`
	IPAddresses []string  `json:"ipAddresses,omitempty"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
}

// Resource names a kind of object, as in discovery.
type Resource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"` // plural, lower case: "configmaps"
	Kind     string `json:"kind"`
}

// Skipped records a kind that was not read.
type Skipped struct {
	Resource Resource `json:"resource"`
	Reason   string   `json:"reason"` // "forbidden: ...", "error: ..."
}

// DiscoveryFailure records a group/version whose discovery failed.
type DiscoveryFailure struct {
	GroupVersion string `json:"groupVersion"`
	Error        string `json:"error"`
}

// APIService is the part of an apiregistration.k8s.io/v1 APIService the checks
// use; kept here to avoid depending on the kube-aggregator module.
type APIService struct {
	metav1.ObjectMeta `json:"metadata"`
	// Service is nil for a local APIService (served by kube-apiserver itself).
	Service    *ServiceReference     `json:"service,omitempty"`
	Group      string                `json:"group,omitempty"`
	Version    string                `json:"version,omitempty"`
	Conditions []APIServiceCondition `json:"conditions,omitempty"`
}

// ServiceReference points an APIService at its backing Service.
type ServiceReference struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Port      *int32 `json:"port,omitempty"`
}

// APIServiceCondition is one status condition of an APIService.
type APIServiceCondition struct {
	Type               string      `json:"type"`
	Status             string      `json:"status"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	Reason             string      `json:"reason,omitempty"`
	Message            string      `json:"message,omitempty"`
}

// Resources read in full.
var (
	Namespaces           = Resource{Group: "", Version: "v1", Resource: "namespaces", Kind: "Namespace"}
	Nodes                = Resource{Group: "", Version: "v1", Resource: "nodes", Kind: "Node"}
	Pods                 = Resource{Group: "", Version: "v1", Resource: "pods", Kind: "Pod"}
	Services             = Resource{Group: "", Version: "v1", Resource: "services", Kind: "Service"}
	EndpointSlices       = Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Kind: "EndpointSlice"}
	Deployments          = Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment"}
	DaemonSets           = Resource{Group: "apps", Version: "v1", Resource: "daemonsets", Kind: "DaemonSet"}
	StatefulSets         = Resource{Group: "apps", Version: "v1", Resource: "statefulsets", Kind: "StatefulSet"}
	Jobs                 = Resource{Group: "batch", Version: "v1", Resource: "jobs", Kind: "Job"}
	PodDisruptionBudgets = Resource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Kind: "PodDisruptionBudget"}
	APIServices          = Resource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices", Kind: "APIService"}

	Leases                      = Resource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Kind: "Lease"}
	ClusterRoles                = Resource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles", Kind: "ClusterRole"}
	ClusterRoleBindings         = Resource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings", Kind: "ClusterRoleBinding"}
	FlowSchemas                 = Resource{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Resource: "flowschemas", Kind: "FlowSchema"}
	PriorityLevelConfigurations = Resource{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Resource: "prioritylevelconfigurations", Kind: "PriorityLevelConfiguration"}

	HorizontalPodAutoscalers = Resource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler"}
	ResourceQuotas           = Resource{Group: "", Version: "v1", Resource: "resourcequotas", Kind: "ResourceQuota"}
	PersistentVolumeClaims   = Resource{Group: "", Version: "v1", Resource: "persistentvolumeclaims", Kind: "PersistentVolumeClaim"}
	PriorityClasses          = Resource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses", Kind: "PriorityClass"}
	ServiceCIDRs             = Resource{Group: "networking.k8s.io", Version: "v1", Resource: "servicecidrs", Kind: "ServiceCIDR"}
)

// Admission webhook configurations: read in full for the webhook checks;
// `premortem refs` streams them whole through its search.
var (
	ValidatingWebhookConfigurations = Resource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"}
	MutatingWebhookConfigurations   = Resource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations", Kind: "MutatingWebhookConfiguration"}
)

// Resources read metadata-only.
var (
	ConfigMaps      = Resource{Group: "", Version: "v1", Resource: "configmaps", Kind: "ConfigMap"}
	Secrets         = Resource{Group: "", Version: "v1", Resource: "secrets", Kind: "Secret"}
	ServiceAccounts = Resource{Group: "", Version: "v1", Resource: "serviceaccounts", Kind: "ServiceAccount"}
	NetworkPolicies = Resource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies", Kind: "NetworkPolicy"}
	ReplicaSets     = Resource{Group: "apps", Version: "v1", Resource: "replicasets", Kind: "ReplicaSet"}
	CronJobs        = Resource{Group: "batch", Version: "v1", Resource: "cronjobs", Kind: "CronJob"}
	Ingresses       = Resource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses", Kind: "Ingress"}
	CRDs            = Resource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Kind: "CustomResourceDefinition"}
	// CalicoNetworkPolicies is read when the cluster serves it (Calico's own policy kind).
	CalicoNetworkPolicies = Resource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies", Kind: "NetworkPolicy"}
)

// Complete reports whether everything premortem tried to read was read.
func (i Info) Complete() bool {
	return len(i.Skipped) == 0 && len(i.DiscoveryFailures) == 0
}

// FileKind marks a Skipped entry for a snapshot file that could not be read
// (Resource is then the file's path).
const FileKind = "File"

// Name is the resource as kubectl names it: "pods", "deployments.apps"; for
// a FileKind entry, the file's path.
func (r Resource) Name() string {
	switch {
	case r.Kind == FileKind:
		return r.Resource
	case r.Group == "":
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// Same reports whether r and o are the same kind of object: the same group
// and resource. The version is not part of it: a skipped networking/v1
// policies list leaves the policies unread at any version.
func (r Resource) Same(o Resource) bool {
	return r.Group == o.Group && r.Resource == o.Resource
}

// SkipReason says whether r was not read, and why: an entry in Skipped, or a
// failed discovery of its group version.
func (i Info) SkipReason(r Resource) (string, bool) {
	for _, s := range i.Skipped {
		if s.Resource.Same(r) {
			return s.Reason, true
		}
	}
	gv := r.Version
	if r.Group != "" {
		gv = r.Group + "/" + r.Version
	}
	for _, d := range i.DiscoveryFailures {
		if d.GroupVersion == gv {
			return "discovery failed: " + d.Error, true
		}
	}
	return "", false
}

// Objects counts the objects in s: every kind read in full and every
// metadata-only kind (a ConfigMap, kept both ways, counts once).
func (s *Snapshot) Objects() int {
	n := len(s.Namespaces) + len(s.Nodes) + len(s.Pods) + len(s.Services) + len(s.EndpointSlices) +
		len(s.Deployments) + len(s.DaemonSets) + len(s.StatefulSets) + len(s.Jobs) +
		len(s.PodDisruptionBudgets) + len(s.APIServices)
	for _, items := range s.Metadata {
		n += len(items)
	}
	return n
}

// InNamespace narrows s as a live read with -n does: namespaced objects of
// other namespaces are dropped, cluster-scoped objects (no namespace) kept.
func (s *Snapshot) InNamespace(ns string) {
	if ns == "" {
		return
	}
	s.Pods = inNamespace(s.Pods, ns)
	s.Services = inNamespace(s.Services, ns)
	s.EndpointSlices = inNamespace(s.EndpointSlices, ns)
	s.Deployments = inNamespace(s.Deployments, ns)
	s.DaemonSets = inNamespace(s.DaemonSets, ns)
	s.StatefulSets = inNamespace(s.StatefulSets, ns)
	s.Jobs = inNamespace(s.Jobs, ns)
	s.PodDisruptionBudgets = inNamespace(s.PodDisruptionBudgets, ns)
	s.ConfigMaps = inNamespace(s.ConfigMaps, ns)
	s.Leases = inNamespace(s.Leases, ns)
	s.HorizontalPodAutoscalers = inNamespace(s.HorizontalPodAutoscalers, ns)
	s.ResourceQuotas = inNamespace(s.ResourceQuotas, ns)
	s.PersistentVolumeClaims = inNamespace(s.PersistentVolumeClaims, ns)
	for r, items := range s.Metadata {
		s.Metadata[r] = inNamespace(items, ns)
	}
	// A count is cluster-wide: it cannot be narrowed to one namespace.
	counts := s.Info.Counts[:0]
	for _, c := range s.Info.Counts {
		if !c.Namespaced {
			counts = append(counts, c)
		}
	}
	s.Info.Counts = counts
}

// inNamespace keeps the objects in ns and those of no namespace.
func inNamespace[T any, P interface {
	*T
	GetNamespace() string
}](items []T, ns string) []T {
	out := items[:0]
	for i := range items {
		if n := P(&items[i]).GetNamespace(); n == "" || n == ns {
			out = append(out, items[i])
		}
	}
	return out
}
