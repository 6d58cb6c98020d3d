package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/check"
)

// Status of one deletion.
const (
	// StatusDelete: the object exists and would be deleted.
	StatusDelete = "delete"
	// StatusKept: the live object carries helm.sh/resource-policy: keep,
	// so Helm skips it.
	StatusKept = "kept"
	// StatusAllowed: it would be deleted, and --allow accepts it.
	StatusAllowed = "allowed"
	// StatusAbsent: the object is already gone; nothing to delete.
	StatusAbsent = "absent"
	// StatusUnknown: its kind is not served, so it could not be looked up.
	StatusUnknown = "unknown"
)

// Deletion is one object the operation would delete, weighed.
type Deletion struct {
	Object
	Status    string         `json:"status"`
	Severity  check.Severity `json:"severity"`
	Dangerous bool           `json:"dangerous"`
	// Summary says in a few words what goes with the object.
	Summary string `json:"summary"`
	// Contents: a Namespace's objects by kind; a CRD's custom resources.
	Contents []KindCount `json:"contents,omitempty"`
	// Objects is the total of Contents: objects in the Namespace, or
	// custom resources of the CRD.
	Objects *int `json:"objects,omitempty"`
	// Volumes: the reclaim policy and size of the volume a PVC or PV
	// deletion releases.
	ReclaimPolicy string `json:"reclaimPolicy,omitempty"`
	Volume        string `json:"volume,omitempty"`
	Capacity      string `json:"capacity,omitempty"`
	// Services and Ingresses: what traffic loses its way.
	ServiceType string   `json:"serviceType,omitempty"`
	Addresses   []string `json:"addresses,omitempty"`
	Hosts       []string `json:"hosts,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// dangerousKinds are the kinds whose deletion fails preflight: deleting
// them loses data (Namespace contents, custom resources, volumes, Secrets)
// or traffic (Services, Ingresses). Everything else is reported for
// information: removing a Deployment from a chart is ordinary change.
var dangerousKinds = map[schema.GroupKind]bool{
	{Kind: "Namespace"}: true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: true,
	{Kind: "PersistentVolumeClaim"}:                                   true,
	{Kind: "PersistentVolume"}:                                        true,
	{Kind: "Secret"}:                                                  true,
	{Kind: "Service"}:                                                 true,
	{Group: "networking.k8s.io", Kind: "Ingress"}:                     true,
}

// weighOptions say how to judge deletions.
type weighOptions struct {
	// honourKeep: Helm skips live objects annotated keep; kubectl prune
	// does not.
	honourKeep bool
	allow      []Allow
}

// weigh looks up each object that would be deleted and weighs it. Reads it
// could not make go to incomplete.
func (c *Cluster) weigh(ctx context.Context, objs []Object, opts weighOptions, incomplete *[]string) []Deletion {
	out := make([]Deletion, 0, len(objs))
	for _, o := range objs {
		out = append(out, c.weighOne(ctx, o, opts, incomplete))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

func (c *Cluster) weighOne(ctx context.Context, o Object, opts weighOptions, incomplete *[]string) Deletion {
	d := Deletion{Object: o, Status: StatusDelete, Severity: check.Low}
	m, err := c.mapping(o.GroupKind(), o.Version)
	if err != nil {
		d.Status, d.Severity = StatusUnknown, check.Medium
		d.Summary = "kind not served by the API server"
		d.Notes = append(d.Notes, fmt.Sprintf("cannot look up %s: %v", o, err))
		return d
	}
	live, err := c.Metadata.Resource(m.Resource).Namespace(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	annotations := o.Annotations
	switch {
	case apierrors.IsNotFound(err):
		d.Status, d.Severity, d.Summary = StatusAbsent, check.Info, "not in the cluster; nothing to delete"
		return d
	case err != nil:
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", o, err))
		d.Notes = append(d.Notes, fmt.Sprintf("could not read the live object (%v); judged from the manifest", reason(err)))
	default:
		annotations = live.Annotations
		if opts.honourKeep && o.Keep() && strings.TrimSpace(live.Annotations[ResourcePolicyAnnotation]) != KeepPolicy {
			d.Notes = append(d.Notes, "the release manifest says helm.sh/resource-policy: keep but the live object does not; helm upgrade checks the live object and deletes it")
		}
	}
	if opts.honourKeep && strings.TrimSpace(annotations[ResourcePolicyAnnotation]) == KeepPolicy {
		d.Status, d.Severity, d.Summary = StatusKept, check.Info, "helm.sh/resource-policy: keep; Helm leaves it in place"
		return d
	}
	c.weighKind(ctx, &d, m, incomplete)
	for _, a := range opts.allow {
		if a.Matches(o) {
			d.Status = StatusAllowed
			d.Notes = append(d.Notes, "accepted by --allow")
			return d
		}
	}
	d.Dangerous = dangerousKinds[o.GroupKind()]
	return d
}

func reason(err error) string {
	if s := apierrors.ReasonForError(err); s != metav1.StatusReasonUnknown {
		return strings.ToLower(string(s))
	}
	return err.Error()
}

// weighKind fills in what goes with the object, by kind.
func (c *Cluster) weighKind(ctx context.Context, d *Deletion, m *meta.RESTMapping, incomplete *[]string) {
	gk := d.GroupKind()
	switch {
	case gk == schema.GroupKind{Kind: "Namespace"}:
		c.weighNamespace(ctx, d, incomplete)
	case gk == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		c.weighCRD(ctx, d, m, incomplete)
	case gk == schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		c.weighPVC(ctx, d, incomplete)
	case gk == schema.GroupKind{Kind: "PersistentVolume"}:
		c.weighPV(ctx, d, incomplete)
	case gk == schema.GroupKind{Kind: "Secret"}:
		// Secret data is never read: a deleted Secret is weighed by what
		// it usually is, credentials or certificates something mounts.
		d.Severity, d.Summary = check.High, "Secret: whatever mounts or reads it loses it"
	case gk == schema.GroupKind{Kind: "Service"}:
		c.weighService(ctx, d, incomplete)
	case gk == schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}:
		c.weighIngress(ctx, d, incomplete)
	default:
		d.Severity, d.Summary = check.Low, "deleted with the release change"
	}
}

// systemObject is what Kubernetes itself creates in every namespace; it
// says nothing about what a namespace holds.
func systemObject(p *metav1.PartialObjectMetadata, kind string) bool {
	return (kind == "ServiceAccount" && p.Name == "default") || (kind == "ConfigMap" && p.Name == "kube-root-ca.crt")
}

// weighNamespace counts what the namespace controller would delete: every
// object of every namespaced kind, one metadata-only LIST per kind.
func (c *Cluster) weighNamespace(ctx context.Context, d *Deletion, incomplete *[]string) {
	d.Severity = check.Critical
	resources, failed, err := c.namespacedResources()
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("namespace %s contents: %v", d.Name, err))
		d.Summary = "Namespace: contents could not be counted"
		return
	}
	total := 0
	for _, r := range resources {
		kind := r.kind
		n, err := c.count(ctx, r.gvr, d.Name, func(p *metav1.PartialObjectMetadata) bool { return systemObject(p, kind) })
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue
			}
			*incomplete = append(*incomplete, fmt.Sprintf("namespace %s: list %s: %v", d.Name, r.gvr.String(), reason(err)))
			d.Notes = append(d.Notes, fmt.Sprintf("could not count %s (%s)", r.gvr.Resource, reason(err)))
			continue
		}
		if n > 0 {
			d.Contents = append(d.Contents, KindCount{Group: r.gvr.Group, Kind: r.kind, Count: n})
			total += n
		}
	}
	sortCounts(d.Contents)
	d.Objects = &total
	if len(failed) > 0 {
		var gvs []string
		for gv := range failed {
			gvs = append(gvs, gv.String())
		}
		sort.Strings(gvs)
		d.Notes = append(d.Notes, fmt.Sprintf("discovery fails for %s: the namespace controller cannot finish, the namespace stays Terminating and that group's objects are deleted whenever it returns (incident 004)", strings.Join(gvs, ", ")))
		*incomplete = append(*incomplete, fmt.Sprintf("namespace %s: objects of %s not counted (discovery failed)", d.Name, strings.Join(gvs, ", ")))
	}
	if total == 0 && len(failed) == 0 && len(d.Notes) == 0 {
		d.Severity = check.High
		d.Summary = "Namespace: empty now, but anything created in it before the upgrade goes with it"
		return
	}
	d.Summary = fmt.Sprintf("Namespace with %d objects, all deleted with it: %s", total, countsString(d.Contents, 6))
}

// weighCRD counts the custom resources deleting the CRD deletes.
func (c *Cluster) weighCRD(ctx context.Context, d *Deletion, m *meta.RESTMapping, incomplete *[]string) {
	d.Severity = check.Critical
	crd, err := c.Dynamic.Resource(m.Resource).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", d.Object, reason(err)))
		d.Summary = "CustomResourceDefinition: every custom resource of it is deleted (not counted)"
		return
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	version := servedVersion(crd)
	if group == "" || plural == "" || version == "" {
		d.Summary = "CustomResourceDefinition: every custom resource of it is deleted (no served version to count)"
		return
	}
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
	namespaces := map[string]int{}
	n := 0
	err = c.eachMeta(ctx, gvr, "", "", func(p *metav1.PartialObjectMetadata) {
		n++
		namespaces[p.Namespace]++
	}, func() { n, namespaces = 0, map[string]int{} })
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("list %s: %v", gvr.String(), reason(err)))
		d.Notes = append(d.Notes, fmt.Sprintf("could not count %s (%s)", gvr.String(), reason(err)))
		d.Summary = "CustomResourceDefinition: every custom resource of it is deleted (not counted)"
		return
	}
	d.Objects = &n
	d.Contents = []KindCount{{Group: group, Kind: kind, Count: n}}
	if n == 0 {
		d.Severity = check.High
		d.Summary = fmt.Sprintf("CustomResourceDefinition with no %s now; controllers that watch %s break", kind, plural)
		return
	}
	where := fmt.Sprintf("in %d namespaces", len(namespaces))
	if _, cluster := namespaces[""]; cluster && len(namespaces) == 1 {
		where = "cluster-scoped"
	}
	d.Summary = fmt.Sprintf("CustomResourceDefinition: its %d %s (%s) are deleted with it", n, kind, where)
}

func servedVersion(crd *unstructured.Unstructured) string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	first := ""
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		served, _ := m["served"].(bool)
		storage, _ := m["storage"].(bool)
		if served && storage {
			return name
		}
		if served && first == "" {
			first = name
		}
	}
	return first
}

func (c *Cluster) weighPVC(ctx context.Context, d *Deletion, incomplete *[]string) {
	d.Severity = check.High
	pvc, err := c.Client.CoreV1().PersistentVolumeClaims(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", d.Object, reason(err)))
		d.Summary = "PersistentVolumeClaim: its volume is released (reclaim policy not read)"
		return
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		d.Capacity = q.String()
	} else if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		d.Capacity = q.String()
	}
	d.Volume = pvc.Spec.VolumeName
	if d.Volume == "" {
		d.Severity = check.Medium
		d.Summary = fmt.Sprintf("PersistentVolumeClaim (%s) not bound to a volume yet", pvc.Status.Phase)
		return
	}
	pv, err := c.Client.CoreV1().PersistentVolumes().Get(ctx, d.Volume, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get PersistentVolume/%s: %v", d.Volume, reason(err)))
		d.Summary = fmt.Sprintf("PersistentVolumeClaim bound to %s (reclaim policy not read)", d.Volume)
		return
	}
	d.ReclaimPolicy = string(pv.Spec.PersistentVolumeReclaimPolicy)
	d.Severity, d.Summary = reclaimWeight("PersistentVolumeClaim", d.Volume, d.Capacity, pv.Spec.PersistentVolumeReclaimPolicy)
	d.Notes = append(d.Notes, "pvc-protection holds the deletion until no pod uses the claim, then it completes")
}

func (c *Cluster) weighPV(ctx context.Context, d *Deletion, incomplete *[]string) {
	d.Severity = check.High
	pv, err := c.Client.CoreV1().PersistentVolumes().Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", d.Object, reason(err)))
		d.Summary = "PersistentVolume (reclaim policy not read)"
		return
	}
	d.Volume = pv.Name
	if q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; ok {
		d.Capacity = q.String()
	}
	d.ReclaimPolicy = string(pv.Spec.PersistentVolumeReclaimPolicy)
	d.Severity, d.Summary = reclaimWeight("PersistentVolume", pv.Name, d.Capacity, pv.Spec.PersistentVolumeReclaimPolicy)
	if ref := pv.Spec.ClaimRef; ref != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("bound to PersistentVolumeClaim %s/%s", ref.Namespace, ref.Name))
	}
}

func reclaimWeight(kind, volume, capacity string, p corev1.PersistentVolumeReclaimPolicy) (check.Severity, string) {
	size := ""
	if capacity != "" {
		size = ", " + capacity
	}
	switch p {
	case corev1.PersistentVolumeReclaimDelete:
		return check.Critical, fmt.Sprintf("%s: volume %s%s has reclaim policy Delete; its data is destroyed", kind, volume, size)
	case corev1.PersistentVolumeReclaimRecycle:
		return check.Critical, fmt.Sprintf("%s: volume %s%s has reclaim policy Recycle; its data is scrubbed", kind, volume, size)
	default:
		return check.High, fmt.Sprintf("%s: volume %s%s is retained (policy %s) but released; nothing rebinds it by itself", kind, volume, size, p)
	}
}

func (c *Cluster) weighService(ctx context.Context, d *Deletion, incomplete *[]string) {
	d.Severity, d.Summary = check.Medium, "Service: clients of its name and address lose it"
	svc, err := c.Client.CoreV1().Services(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", d.Object, reason(err)))
		return
	}
	d.ServiceType = string(svc.Spec.Type)
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			d.Addresses = append(d.Addresses, in.IP)
		}
		if in.Hostname != "" {
			d.Addresses = append(d.Addresses, in.Hostname)
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		d.Severity = check.High
		d.Summary = "Service of type LoadBalancer: its external address is released and may not come back"
		return
	}
	d.Summary = fmt.Sprintf("Service (%s %s): clients of its name and address lose it", svc.Spec.Type, svc.Spec.ClusterIP)
}

func (c *Cluster) weighIngress(ctx context.Context, d *Deletion, incomplete *[]string) {
	d.Severity, d.Summary = check.Medium, "Ingress: its routes stop"
	ing, err := c.Client.NetworkingV1().Ingresses(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		*incomplete = append(*incomplete, fmt.Sprintf("get %s: %v", d.Object, reason(err)))
		return
	}
	for _, r := range ing.Spec.Rules {
		if r.Host != "" {
			d.Hosts = append(d.Hosts, r.Host)
		}
	}
	if len(d.Hosts) > 0 {
		d.Summary = "Ingress: routes for " + strings.Join(d.Hosts, ", ") + " stop"
	}
}

// countsString is "12 ConfigMap, 3 Secret, ..." for the first n kinds.
func countsString(cs []KindCount, n int) string {
	var parts []string
	for i, c := range cs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more kinds", len(cs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Kind))
	}
	if len(parts) == 0 {
		return "none counted"
	}
	return strings.Join(parts, ", ")
}
