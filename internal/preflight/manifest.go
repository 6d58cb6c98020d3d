// Package preflight says what a Helm upgrade or a `kubectl apply --prune`
// would delete before it does, and weighs each deletion: a Namespace with
// everything in it, a CRD with its custom resources, a volume claim whose
// volume is reclaimed with it (incident 004). It also counts what a release
// creates and warns when a namespace already holds many releases of the same
// chart (incident 001).
//
// The diff is a pure function of two object lists; the weighing reads the
// cluster cheaply (GETs and metadata-only paginated LISTs from the watch
// cache) and never reads Secret data other than Helm's own release record.
package preflight

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Annotations and labels premortem reads on manifests and live objects.
const (
	// ResourcePolicyAnnotation set to "keep" makes Helm skip the object
	// when it would otherwise delete it.
	ResourcePolicyAnnotation = "helm.sh/resource-policy"
	KeepPolicy               = "keep"
	// HookAnnotation marks a Helm hook: hooks are not part of the release
	// manifest, so an upgrade neither diffs nor deletes them.
	HookAnnotation = "helm.sh/hook"
	// ChartLabel is the conventional "NAME-VERSION" label charts put on
	// every object.
	ChartLabel = "helm.sh/chart"
	// ReleaseNameAnnotation is set by Helm 3 on every object it manages.
	ReleaseNameAnnotation = "meta.helm.sh/release-name"
	// LastAppliedAnnotation marks objects created by `kubectl apply`: the
	// only ones prune deletes.
	LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
)

// Object is one object of a manifest, identified the way Helm and kubectl
// identify it: group, kind, namespace and name (the version does not matter).
type Object struct {
	Group     string `json:"group"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Source is where the object was read, "file:line".
	Source string `json:"source,omitempty"`

	Labels      map[string]string `json:"-"`
	Annotations map[string]string `json:"-"`
	// Scope of a CustomResourceDefinition in the manifest ("Namespaced" or
	// "Cluster"), so custom resources of a CRD the cluster does not know yet
	// can still be placed.
	CRDGroup, CRDKind, CRDScope string `json:"-"`
	// SourcePath is the template path in the "# Source: CHART/templates/..."
	// comment Helm writes before each document; SourceChart its first part.
	SourcePath, SourceChart string `json:"-"`
}

// Key identifies an object across manifests and the cluster.
type Key struct {
	Group, Kind, Namespace, Name string
}

// Key returns the object's identity.
func (o Object) Key() Key { return Key{o.Group, o.Kind, o.Namespace, o.Name} }

// GroupKind returns the object's group and kind.
func (o Object) GroupKind() schema.GroupKind { return schema.GroupKind{Group: o.Group, Kind: o.Kind} }

// String is "Kind/name" or "Kind/namespace/name", with ".group" after the
// kind for non-core groups.
func (o Object) String() string {
	k := o.Kind
	if o.Group != "" {
		k += "." + o.Group
	}
	if o.Namespace == "" {
		return k + "/" + o.Name
	}
	return k + "/" + o.Namespace + "/" + o.Name
}

// Hook reports whether the object is a Helm hook.
func (o Object) Hook() bool {
	_, ok := o.Annotations[HookAnnotation]
	return ok
}

// FromCRDsDir reports whether the object comes from a chart's crds/
// directory (helm template --include-crds). Helm installs those once and
// keeps them out of the release manifest: they are never upgraded or
// deleted, and they do not keep an object of the old manifest alive.
func (o Object) FromCRDsDir() bool {
	return strings.Contains("/"+o.SourcePath, "/crds/")
}

// Keep reports whether the object carries helm.sh/resource-policy: keep.
func (o Object) Keep() bool {
	return strings.TrimSpace(o.Annotations[ResourcePolicyAnnotation]) == KeepPolicy
}

// ParseError is a manifest that does not parse, with where.
type ParseError struct {
	Source string
	Line   int
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
}
func (e *ParseError) Unwrap() error { return e.Err }

var yamlLine = regexp.MustCompile(`line (\d+)`)

// ParseManifest reads a multi-document YAML (or JSON) manifest, as `helm
// template` and Helm's release record write it. Empty documents and
// comment-only documents are skipped; List kinds are expanded. Every error
// names source:line.
func ParseManifest(source string, data []byte) ([]Object, error) {
	var objs []Object
	for _, doc := range splitDocuments(data) {
		skip := firstContent(doc.text)
		if skip < 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc.text)
		if err != nil {
			line := doc.line
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				n, _ := strconv.Atoi(m[1])
				line += n - 1
			}
			return nil, &ParseError{source, line, err}
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(js, &raw); err != nil {
			return nil, &ParseError{source, doc.line + skip, fmt.Errorf("not an object: %w", err)}
		}
		// Objects and their errors point at the document's first line of
		// content, past the "# Source:" comments helm template writes.
		line := doc.line + skip
		got, err := objectsOf(raw, fmt.Sprintf("%s:%d", source, line))
		if err != nil {
			return nil, &ParseError{source, line, err}
		}
		if path := sourcePath(doc.text); path != "" {
			chart, _, _ := strings.Cut(path, "/")
			for i := range got {
				got[i].SourcePath, got[i].SourceChart = path, chart
			}
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// objectsOf turns one decoded document into objects, expanding Lists.
func objectsOf(raw map[string]any, where string) ([]Object, error) {
	kind, _ := raw["kind"].(string)
	if items, ok := raw["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var out []Object
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s item %d: not an object", kind, i)
			}
			o, err := objectOf(m, where)
			if err != nil {
				return nil, fmt.Errorf("%s item %d: %w", kind, i, err)
			}
			out = append(out, o)
		}
		return out, nil
	}
	o, err := objectOf(raw, where)
	if err != nil {
		return nil, err
	}
	return []Object{o}, nil
}

func objectOf(raw map[string]any, where string) (Object, error) {
	apiVersion, _ := raw["apiVersion"].(string)
	kind, _ := raw["kind"].(string)
	if apiVersion == "" || kind == "" {
		return Object{}, fmt.Errorf("object has no apiVersion or kind")
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return Object{}, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	meta, _ := raw["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return Object{}, fmt.Errorf("%s has no metadata.name", kind)
	}
	ns, _ := meta["namespace"].(string)
	o := Object{
		Group: gv.Group, Version: gv.Version, Kind: kind, Namespace: ns, Name: name, Source: where,
		Labels: stringMap(meta["labels"]), Annotations: stringMap(meta["annotations"]),
	}
	if gv.Group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition" {
		spec, _ := raw["spec"].(map[string]any)
		names, _ := spec["names"].(map[string]any)
		o.CRDGroup, _ = spec["group"].(string)
		o.CRDKind, _ = names["kind"].(string)
		o.CRDScope, _ = spec["scope"].(string)
	}
	return o, nil
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

type document struct {
	text []byte
	line int // 1-based line of the document's first line
}

// splitDocuments splits a YAML stream on "---" lines, remembering where each
// document starts so errors can name a line.
func splitDocuments(data []byte) []document {
	var docs []document
	docStart, docLine := 0, 1
	pos, line := 0, 1
	for pos < len(data) {
		next := len(data)
		l := data[pos:]
		if i := bytes.IndexByte(l, '\n'); i >= 0 {
			l = l[:i]
			next = pos + i + 1
		}
		if isSeparator(l) {
			docs = append(docs, document{text: data[docStart:pos], line: docLine})
			docStart, docLine = next, line+1
		}
		pos = next
		line++
	}
	return append(docs, document{text: data[docStart:], line: docLine})
}

func isSeparator(l []byte) bool {
	l = bytes.TrimRight(l, " \t\r")
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '#'
}

// sourcePath reads the template path from a "# Source: CHART/templates/x.yaml"
// comment at the top of a document.
func sourcePath(doc []byte) string {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return ""
		}
		if rest, ok := bytes.CutPrefix(l, []byte("# Source: ")); ok {
			return string(bytes.TrimSpace(rest))
		}
	}
	return ""
}

// firstContent returns how many lines into doc its first line that is
// neither blank nor a comment is, or -1 when there is none.
func firstContent(doc []byte) int {
	for i, l := range bytes.Split(doc, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return i
		}
	}
	return -1
}
