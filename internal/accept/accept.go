// Package accept takes the findings a user reviewed and accepted out of a
// scan's result, without losing them: they move to Result.Accepted, counted
// and listed, and no longer count toward --fail-on.
//
// A finding is accepted for an object by an annotation on it,
//
//	premortem.dev/accept: <check-id>[,<check-id>...]
//	premortem.dev/accept-reason: <why> (optional)
//
// or by an entry of an accept file (scan --accept, see Parse). A finding
// names one or more objects; it is accepted only when every one of them is
// accepted for its check, by either means. A finding that names no object
// cannot be accepted: turn its check off with --skip instead.
package accept

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/preflight"
	"github.com/premortem/premortem/internal/snapshot"
)

// The annotations that accept findings on the object they are on.
const (
	Annotation       = "premortem.dev/accept"
	ReasonAnnotation = "premortem.dev/accept-reason"
)

// maxFile bounds an accept file: a list written by hand.
const maxFile = 1 << 20

// Entry is one accepted check and object pair.
type Entry struct {
	// Check is a check ID.
	Check string `json:"check"`
	// Object is KIND/NAMESPACE/NAME, or KIND/NAME for a cluster-scoped
	// object (or the name in any namespace), as preflight --allow takes it:
	// KIND case-insensitive, optionally KIND.GROUP, or a kubectl short name.
	Object string `json:"object"`
	Reason string `json:"reason,omitempty"`

	allow  preflight.Allow
	source string
}

// File is the accept file format, YAML or JSON:
//
//	accept:
//	- check: jobs-without-ttl
//	  object: Namespace/batch
//	  reason: nightly jobs, cleaned up by their CronJob's history limit
type File struct {
	Accept []Entry `json:"accept"`
}

// Load reads an accept file; known reports whether a check ID exists, so a
// mistyped ID is an error rather than an entry that never matches.
func Load(path string, known func(id string) bool) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFile)
	}
	entries, err := Parse(data, path, known)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// Parse parses an accept file's content; source names it in the result.
func Parse(data []byte, source string, known func(id string) bool) ([]Entry, error) {
	var file File
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return nil, err
	}
	var errs []error
	for i := range file.Accept {
		e := &file.Accept[i]
		e.source = source
		if e.Check == "" || e.Object == "" {
			errs = append(errs, fmt.Errorf("entry %d: want check and object", i+1))
			continue
		}
		if known != nil && !known(e.Check) {
			errs = append(errs, fmt.Errorf("entry %d: unknown check %q", i+1, e.Check))
		}
		a, err := preflight.ParseAllow(e.Object)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
		}
		e.allow = a
	}
	return file.Accept, errors.Join(errs...)
}

// Apply moves the findings of r that are accepted, by the annotations of
// the objects in snap or by entries, to r.Accepted.
func Apply(r *check.Result, snap *snapshot.Snapshot, entries []Entry) {
	idx := annotations(snap)
	kept := r.Findings[:0]
	for _, f := range r.Findings {
		if a, ok := accepted(f, idx, entries); ok {
			r.Accepted = append(r.Accepted, a)
			continue
		}
		kept = append(kept, f)
	}
	r.Findings = kept
}

// accepted returns f as accepted when every object it names is.
func accepted(f check.Finding, idx map[key][]annotated, entries []Entry) (check.Accepted, bool) {
	a := check.Accepted{Finding: f}
	if len(f.Objects) == 0 {
		return a, false
	}
	for _, o := range f.Objects {
		by, reason, ok := acceptedFor(f.ID, o, idx, entries)
		if !ok {
			return a, false
		}
		if !slices.Contains(a.AcceptedBy, by) {
			a.AcceptedBy = append(a.AcceptedBy, by)
		}
		if reason != "" && !slices.Contains(a.Reasons, reason) {
			a.Reasons = append(a.Reasons, reason)
		}
	}
	return a, true
}

// acceptedFor says whether check id is accepted for o, by what and why.
func acceptedFor(id string, o check.Object, idx map[key][]annotated, entries []Entry) (by, reason string, ok bool) {
	if ann := lookup(idx, o); ann != nil && listed(ann[Annotation], id) {
		return "annotation " + Annotation + " on " + o.String(), ann[ReasonAnnotation], true
	}
	po := preflight.Object{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	for _, e := range entries {
		if e.Check == id && e.allow.Matches(po) {
			return "file " + e.source, e.Reason, true
		}
	}
	return "", "", false
}

// listed reports whether the comma-separated list names id.
func listed(list, id string) bool {
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == id {
			return true
		}
	}
	return false
}

type key struct{ kind, namespace, name string }

func keyOf(kind, namespace, name string) key {
	return key{strings.ToLower(kind), namespace, name}
}

// annotated is an object's annotations, under its API group.
type annotated struct {
	group string
	ann   map[string]string
}

// lookup returns the annotations of o. Some checks name core and
// well-known kinds without their group; a group given must match.
func lookup(idx map[key][]annotated, o check.Object) map[string]string {
	for _, a := range idx[keyOf(o.Kind, o.Namespace, o.Name)] {
		if o.Group == "" || o.Group == a.group {
			return a.ann
		}
	}
	return nil
}

// annotations indexes the accept annotations of every object in snap.
func annotations(snap *snapshot.Snapshot) map[key][]annotated {
	idx := map[key][]annotated{}
	add := func(r snapshot.Resource, m metav1.Object) {
		ann := m.GetAnnotations()
		if _, ok := ann[Annotation]; ok {
			k := keyOf(r.Kind, m.GetNamespace(), m.GetName())
			idx[k] = append(idx[k], annotated{r.Group, ann})
		}
	}
	each(snap.Namespaces, snapshot.Namespaces, add)
	each(snap.Nodes, snapshot.Nodes, add)
	each(snap.Pods, snapshot.Pods, add)
	each(snap.Services, snapshot.Services, add)
	each(snap.EndpointSlices, snapshot.EndpointSlices, add)
	each(snap.Deployments, snapshot.Deployments, add)
	each(snap.DaemonSets, snapshot.DaemonSets, add)
	each(snap.StatefulSets, snapshot.StatefulSets, add)
	each(snap.Jobs, snapshot.Jobs, add)
	each(snap.PodDisruptionBudgets, snapshot.PodDisruptionBudgets, add)
	each(snap.APIServices, snapshot.APIServices, add)
	each(snap.ConfigMaps, snapshot.ConfigMaps, add)
	each(snap.Leases, snapshot.Leases, add)
	each(snap.ClusterRoles, snapshot.ClusterRoles, add)
	each(snap.ClusterRoleBindings, snapshot.ClusterRoleBindings, add)
	each(snap.FlowSchemas, snapshot.FlowSchemas, add)
	each(snap.PriorityLevelConfigurations, snapshot.PriorityLevelConfigurations, add)
	each(snap.ValidatingWebhookConfigurations, snapshot.ValidatingWebhookConfigurations, add)
	each(snap.MutatingWebhookConfigurations, snapshot.MutatingWebhookConfigurations, add)
	each(snap.HorizontalPodAutoscalers, snapshot.HorizontalPodAutoscalers, add)
	each(snap.ResourceQuotas, snapshot.ResourceQuotas, add)
	each(snap.PersistentVolumeClaims, snapshot.PersistentVolumeClaims, add)
	each(snap.PriorityClasses, snapshot.PriorityClasses, add)
	each(snap.ServiceCIDRs, snapshot.ServiceCIDRs, add)
	for r, items := range snap.Metadata {
		each(items, r, add)
	}
	return idx
}

func each[T any, P interface {
	*T
	metav1.Object
}](items []T, r snapshot.Resource, add func(snapshot.Resource, metav1.Object)) {
	for i := range items {
		add(r, P(&items[i]))
	}
}
