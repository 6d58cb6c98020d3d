package kube

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// InfoAPIVersion and InfoKind mark the first item of a premortem snapshot
// file: the record of where and when it was read and what was not.
const (
	InfoAPIVersion = "premortem.dev/v1alpha1"
	InfoKind       = "SnapshotInfo"
)

// FileKind marks a Skipped entry for a snapshot file (Resource is its
// path) that could not be read whole, so its kinds are unknown.
const FileKind = "File"

// infoObject is the SnapshotInfo item of a snapshot file.
type infoObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	snapshot.Info
	// Resources lists the kinds the file is authoritative for: read in full,
	// or not served by the cluster. A kind not listed was not read.
	Resources []snapshot.Resource `json:"resources,omitempty"`
	// Counts are Info.Counts, which scan output leaves out.
	Counts []snapshot.Count `json:"counts,omitempty"`
}

// LoadResult is an offline snapshot read from files.
type LoadResult struct {
	Snapshot *snapshot.Snapshot
	// Covered lists the kinds the files are authoritative for: those their
	// SnapshotInfo lists, plus any kind with objects in the files.
	Covered []snapshot.Resource
	// HasInfo says a premortem SnapshotInfo item was found.
	HasInfo bool
	// Problems are the parts of the input that could not be read.
	Problems []Problem
	// Notes say what was not read twice: a link to a file or directory
	// read already under another name.
	Notes   []string
	Files   int
	Objects int
	// Ignored counts objects of kinds premortem does not read, by kind.
	Ignored map[string]int
}

// Problem is a part of an input file that could not be read.
type Problem struct {
	File  string
	Where string // "line 12", "document 3 (line 40)", "item 7 (Pod default/web)"
	// Resource is set when the problem concerns one kind.
	Resource *snapshot.Resource
	Err      error
}

func (p Problem) Unwrap() error { return p.Err }

func (p Problem) Error() string {
	if p.Where == "" {
		return fmt.Sprintf("%s: %v", p.File, p.Err)
	}
	return fmt.Sprintf("%s: %s: %v", p.File, p.Where, p.Err)
}

// Load reads snapshot files: kubectl `get -o json|yaml` output (a v1 List,
// typed lists, single objects, multi-document YAML), premortem snapshot files,
// directories of them (recursively), each optionally gzip-compressed. JSON is
// decoded one list item at a time, so a multi-gigabyte list never sits in
// memory. extra names kinds beyond premortem's own that a check reads; they
// are kept metadata-only.
//
// A file that cannot be read in part is a Problem and loading goes on; Load
// fails only when a path does not exist or nothing at all could be read.
func Load(paths []string, extra []snapshot.Resource) (*LoadResult, error) {
	return LoadVisit(paths, extra, nil, nil, Limits{})
}

// LoadVisit is Load that streams the objects of the visit kinds (each
// Visitable) whole to visit instead of keeping them, as Reader.Visit does
// for a live read. lim bounds what one file may hold.
func LoadVisit(paths []string, extra []snapshot.Resource, visit []snapshot.Resource, visitor Visitor, lim Limits) (*LoadResult, error) {
	l := &loader{
		limits:  lim.withDefaults(),
		res:     &LoadResult{Snapshot: &snapshot.Snapshot{}, Ignored: map[string]int{}},
		kinds:   map[schema.GroupKind]*kindSpec{},
		seen:    map[snapshot.Resource]bool{},
		interns: map[snapshot.Resource]interner{},
		visitor: visitor,
		visit:   map[schema.GroupKind]snapshot.Resource{},
	}
	for _, r := range visit {
		if _, ok := visitSpecs[r]; ok && visitor != nil {
			l.visit[schema.GroupKind{Group: r.Group, Kind: r.Kind}] = r
		}
	}
	for r, s := range specs {
		l.kinds[schema.GroupKind{Group: r.Group, Kind: r.Kind}] = s
	}
	for _, r := range extra {
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		if _, ok := l.kinds[gk]; !ok {
			l.kinds[gk] = metadataKind(r)
		}
	}
	files, skipped, err := snapshotFiles(paths)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		if s.Lost {
			l.res.Problems = append(l.res.Problems, Problem{File: s.Path, Err: s.Err})
		} else {
			l.res.Notes = append(l.res.Notes, s.Error())
		}
	}
	var latest time.Time
	for _, f := range files {
		l.file(f)
		l.res.Files++
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	r := l.res
	if r.Objects == 0 && !r.HasInfo && len(r.Problems) > 0 {
		return nil, fmt.Errorf("snapshot: nothing could be read: %w", r.Problems[0])
	}
	info := &r.Snapshot.Info
	info.Source = strings.Join(paths, ",")
	if !r.HasInfo {
		// kubectl output does not say when it was taken; the files' age is
		// the best record there is.
		info.TakenAt = latest.UTC().Truncate(time.Second)
	}
	for res := range l.seen {
		r.Covered = append(r.Covered, res)
	}
	sort.Slice(r.Covered, func(i, j int) bool { return resourceLess(r.Covered[i], r.Covered[j]) })
	for _, p := range r.Problems {
		res := snapshot.Resource{Kind: FileKind, Resource: p.File}
		if p.Resource != nil {
			res = *p.Resource
		}
		// A file that could not be read to its end may have held any kind:
		// the snapshot is incomplete, whatever it did hold.
		info.Skipped = append(info.Skipped, snapshot.Skipped{Resource: res, Reason: "unreadable in snapshot: " + p.Error()})
	}
	return r, nil
}

type loader struct {
	res     *LoadResult
	kinds   map[schema.GroupKind]*kindSpec
	seen    map[snapshot.Resource]bool
	interns map[snapshot.Resource]interner
	visitor Visitor
	visit   map[schema.GroupKind]snapshot.Resource
	limits  Limits
	// per file
	path    string
	objects int // objects read from the current file
	// JSON: the decoder, its source and bound, where its input starts in
	// the file (it moves when an item too large is skipped).
	dec     *json.Decoder
	src     *pushback
	bound   *boundedReader
	base    int64
	itemIdx int  // the list item being decoded, or -1
	inArray bool // in a list within a top-level array
}

func (l *loader) problem(where string, res *snapshot.Resource, err error) {
	l.res.Problems = append(l.res.Problems, Problem{File: l.path, Where: where, Resource: res, Err: err})
}

// item handles one item of a list; items of typed lists (PodList from the
// raw API) carry no kind and take it from the list.
func (l *loader) item(raw json.RawMessage, idx int, list map[string]json.RawMessage) {
	var tm struct{ APIVersion, Kind string }
	_ = json.Unmarshal(raw, &tm)
	if tm.Kind == "" {
		var listKind, listAPIVersion string
		_ = json.Unmarshal(list["kind"], &listKind)
		_ = json.Unmarshal(list["apiVersion"], &listAPIVersion)
		if k, ok := strings.CutSuffix(listKind, "List"); ok && k != "" {
			l.typed(raw, fmt.Sprintf("item %d", idx), listAPIVersion, k)
			return
		}
	}
	l.object(raw, fmt.Sprintf("item %d", idx))
}

// object handles one object (which may itself be a list).
func (l *loader) object(raw []byte, where string) {
	var tm struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Items      json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &tm); err != nil {
		l.problem(where, nil, err)
		return
	}
	if tm.Items != nil && strings.HasSuffix(tm.Kind, "List") {
		// A list inside a YAML document or an array: small enough to have
		// been decoded whole already.
		var items []json.RawMessage
		if err := json.Unmarshal(tm.Items, &items); err != nil {
			l.problem(where, nil, err)
			return
		}
		fields := map[string]json.RawMessage{}
		fields["kind"], _ = json.Marshal(tm.Kind)
		fields["apiVersion"], _ = json.Marshal(tm.APIVersion)
		for i, it := range items {
			l.item(it, i, fields)
		}
		return
	}
	l.typed(raw, where, tm.APIVersion, tm.Kind)
}

// typed decodes one object of a known apiVersion and kind into the snapshot.
func (l *loader) typed(raw []byte, where, apiVersion, kind string) {
	if apiVersion == InfoAPIVersion && kind == InfoKind {
		l.info(raw, where)
		return
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || kind == "" {
		l.problem(where, nil, fmt.Errorf("object without a valid apiVersion and kind (%q, %q)", apiVersion, kind))
		return
	}
	if res, ok := l.visit[schema.GroupKind{Group: gv.Group, Kind: kind}]; ok {
		obj, err := visitSpecs[res].decode(raw)
		if err != nil {
			l.problem(describe(where, kind, raw), &res, err)
			return
		}
		l.visitor(res, obj)
		l.seen[res] = true
		l.res.Objects++
		l.objects++
		return
	}
	spec, ok := l.kinds[schema.GroupKind{Group: gv.Group, Kind: kind}]
	if !ok {
		l.res.Ignored[gv.WithKind(kind).GroupKind().String()]++
		return
	}
	in := l.interns[spec.res]
	if in == nil {
		in = interner{}
		l.interns[spec.res] = in
	}
	p, err := spec.decode(raw, in)
	if err != nil {
		res := spec.res
		l.problem(describe(where, kind, raw), &res, err)
		return
	}
	spec.add(l.res.Snapshot, p)
	l.seen[spec.res] = true
	l.res.Objects++
	l.objects++
}

// describe names an object for an error message: "item 3 (Pod default/web)".
func describe(where, kind string, raw []byte) string {
	var m struct {
		Metadata struct{ Namespace, Name string } `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &m)
	name := m.Metadata.Name
	if m.Metadata.Namespace != "" {
		name = m.Metadata.Namespace + "/" + name
	}
	s := kind + " " + name
	if where != "" {
		s = where + " (" + s + ")"
	}
	return s
}

func (l *loader) info(raw []byte, where string) {
	var o infoObject
	if err := json.Unmarshal(raw, &o); err != nil {
		l.problem(where, nil, fmt.Errorf("SnapshotInfo: %w", err))
		return
	}
	info := &l.res.Snapshot.Info
	if l.res.HasInfo {
		// Several snapshot files in one directory: keep every gap.
		if o.TakenAt.After(info.TakenAt) {
			info.TakenAt = o.TakenAt
		}
	} else {
		info.TakenAt, info.ServerVersion = o.TakenAt, o.ServerVersion
	}
	if o.APIServer != nil {
		info.APIServer = o.APIServer
	}
	l.res.HasInfo = true
	info.Skipped = append(info.Skipped, o.Skipped...)
	info.DiscoveryFailures = append(info.DiscoveryFailures, o.DiscoveryFailures...)
	for _, c := range o.Counts {
		// Several files counting one kind: the last one read wins.
		info.Counts = slices.DeleteFunc(info.Counts, func(h snapshot.Count) bool { return h.Resource.Same(c.Resource) })
		info.Counts = append(info.Counts, c)
	}
	for _, r := range o.Resources {
		l.seen[r] = true
	}
}
