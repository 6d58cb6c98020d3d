package preflight

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Scoper says whether a kind is namespaced. known is false when the API
// server does not serve the kind.
type Scoper func(gk schema.GroupKind, version string) (namespaced, known bool)

// MapperScoper answers from a RESTMapper.
func MapperScoper(m meta.RESTMapper) Scoper {
	return func(gk schema.GroupKind, version string) (bool, bool) {
		var versions []string
		if version != "" {
			versions = append(versions, version)
		}
		mapping, err := m.RESTMapping(gk, versions...)
		if err != nil && version != "" {
			mapping, err = m.RESTMapping(gk)
		}
		if err != nil {
			return false, false
		}
		return mapping.Scope.Name() == meta.RESTScopeNameNamespace, true
	}
}

// Resolve places objects the way Helm's and kubectl's resource builders do:
// a namespaced object without a namespace gets defaultNS, a cluster-scoped
// object loses any namespace it names. Kinds the API server does not serve
// are placed by a CRD in the manifests if one defines them, else assumed
// namespaced; each such guess is returned as a note. Every list is resolved
// in place, and a CRD in any of them places custom resources in all.
func Resolve(defaultNS string, scope Scoper, lists ...[]Object) (notes []string) {
	crdScope := map[schema.GroupKind]string{}
	for _, objs := range lists {
		for _, c := range objs {
			if c.CRDKind != "" {
				crdScope[schema.GroupKind{Group: c.CRDGroup, Kind: c.CRDKind}] = c.CRDScope
			}
		}
	}
	guessed := map[schema.GroupKind]bool{}
	for _, objs := range lists {
		notes = append(notes, resolve(objs, defaultNS, scope, crdScope, guessed)...)
	}
	return notes
}

func resolve(objs []Object, defaultNS string, scope Scoper, crdScope map[schema.GroupKind]string, guessed map[schema.GroupKind]bool) (notes []string) {
	for i := range objs {
		o := &objs[i]
		namespaced, known := scope(o.GroupKind(), o.Version)
		if !known {
			if s, ok := crdScope[o.GroupKind()]; ok {
				namespaced = s != "Cluster"
			} else {
				namespaced = true
				if !guessed[o.GroupKind()] {
					guessed[o.GroupKind()] = true
					notes = append(notes, fmt.Sprintf("kind %s is not served by the API server and no CRD in the manifests defines it; assumed namespaced", kindString(o.Group, o.Kind)))
				}
			}
		}
		switch {
		case !namespaced:
			o.Namespace = ""
		case o.Namespace == "":
			o.Namespace = defaultNS
		}
	}
	return notes
}

// Diff returns the objects of old that new lacks (what Helm deletes on
// upgrade) and the objects of new that old lacks (what it creates), each in
// manifest order. Objects are matched on group, kind, namespace and name,
// as Helm's ResourceList.Difference does. Hooks and crds/ files are not
// part of a release's manifest, so in new they do not keep an old object
// alive.
func Diff(old, new []Object) (deleted, created []Object) {
	inNew := map[Key]bool{}
	for _, o := range new {
		if !o.Hook() && !o.FromCRDsDir() {
			inNew[o.Key()] = true
		}
	}
	inOld := map[Key]bool{}
	for _, o := range old {
		inOld[o.Key()] = true
		if !inNew[o.Key()] {
			deleted = append(deleted, o)
		}
	}
	seen := map[Key]bool{}
	for _, o := range new {
		if o.Hook() || o.FromCRDsDir() || inOld[o.Key()] || seen[o.Key()] {
			continue
		}
		seen[o.Key()] = true
		created = append(created, o)
	}
	return deleted, created
}

// KindCount is a number of objects of one kind.
type KindCount struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// CountByKind counts objects by group and kind, most numerous first.
func CountByKind(objs []Object) []KindCount {
	m := map[schema.GroupKind]int{}
	for _, o := range objs {
		m[o.GroupKind()]++
	}
	out := make([]KindCount, 0, len(m))
	for gk, n := range m {
		out = append(out, KindCount{Group: gk.Group, Kind: gk.Kind, Count: n})
	}
	sortCounts(out)
	return out
}

func sortCounts(cs []KindCount) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Count != cs[j].Count {
			return cs[i].Count > cs[j].Count
		}
		return kindString(cs[i].Group, cs[i].Kind) < kindString(cs[j].Group, cs[j].Kind)
	})
}

func kindString(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// Allow is an accepted deletion from --allow: KIND/NAME or
// KIND/NAMESPACE/NAME, KIND case-insensitive, optionally KIND.GROUP, or a
// kubectl short name (ns, crd, pvc, pv, svc, ing).
type Allow struct {
	Kind, Group, Namespace, Name string
	AnyNamespace                 bool
}

var shortKinds = map[string]string{
	"ns": "namespace", "crd": "customresourcedefinition", "crds": "customresourcedefinition",
	"pvc": "persistentvolumeclaim", "pv": "persistentvolume", "svc": "service", "ing": "ingress",
	"cm": "configmap", "deploy": "deployment", "sts": "statefulset", "netpol": "networkpolicy",
}

// ParseAllow parses one --allow value.
func ParseAllow(s string) (Allow, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "" {
			return Allow{}, fmt.Errorf("%q: want KIND/NAME or KIND/NAMESPACE/NAME", s)
		}
	}
	var a Allow
	switch len(parts) {
	case 2:
		a = Allow{Kind: parts[0], Name: parts[1], AnyNamespace: true}
	case 3:
		a = Allow{Kind: parts[0], Namespace: parts[1], Name: parts[2]}
	default:
		return Allow{}, fmt.Errorf("%q: want KIND/NAME or KIND/NAMESPACE/NAME", s)
	}
	kind := strings.ToLower(a.Kind)
	if k, g, ok := strings.Cut(kind, "."); ok {
		kind, a.Group = k, g
	}
	if long, ok := shortKinds[kind]; ok {
		kind = long
	}
	a.Kind = kind
	return a, nil
}

// Matches reports whether the allow entry accepts deleting o.
func (a Allow) Matches(o Object) bool {
	if !strings.EqualFold(a.Kind, o.Kind) || a.Name != o.Name {
		return false
	}
	if a.Group != "" && !strings.EqualFold(a.Group, o.Group) {
		return false
	}
	return a.AnyNamespace || a.Namespace == o.Namespace
}
