package kube

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
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
	Files    int
	Objects  int
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
	return LoadVisit(paths, extra, nil, nil)
}

// LoadVisit is Load that streams the objects of the visit kinds (each
// Visitable) whole to visit instead of keeping them, as Reader.Visit does
// for a live read.
func LoadVisit(paths []string, extra []snapshot.Resource, visit []snapshot.Resource, visitor Visitor) (*LoadResult, error) {
	l := &loader{
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
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isSnapshotFile(path) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("snapshot: %s: no .json, .yaml or .yml files (optionally .gz)", p)
		}
		files = append(files, found...)
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

func isSnapshotFile(path string) bool {
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

type loader struct {
	res     *LoadResult
	kinds   map[schema.GroupKind]*kindSpec
	seen    map[snapshot.Resource]bool
	interns map[snapshot.Resource]interner
	visitor Visitor
	visit   map[schema.GroupKind]snapshot.Resource
	// per file
	path    string
	objects int // objects read from the current file
}

func (l *loader) problem(where string, res *snapshot.Resource, err error) {
	l.res.Problems = append(l.res.Problems, Problem{File: l.path, Where: where, Resource: res, Err: err})
}

// file reads one file, recording what went wrong as problems.
func (l *loader) file(path string) {
	l.path, l.objects = path, 0
	f, err := os.Open(path)
	if err != nil {
		l.problem("", nil, err)
		return
	}
	defer f.Close()
	var r io.Reader = f
	gz := strings.HasSuffix(strings.ToLower(path), ".gz")
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			l.problem("", nil, fmt.Errorf("not a gzip file: %w", err))
			return
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := firstByte(br)
	if err == io.EOF {
		return // empty file
	}
	if err != nil {
		l.readError(0, err)
		return
	}
	if first == '{' || first == '[' {
		l.jsonStream(br)
		return
	}
	l.yamlStream(br)
}

// readError reports a failure to read the file itself (truncation, I/O).
func (l *loader) readError(offset int64, err error) {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		l.problem(fmt.Sprintf("line %d", lineAt(l.path, offset)), nil,
			fmt.Errorf("file ends early (truncated?) at byte %d; kept the %d objects read before it", offset, l.objects))
		return
	}
	var oe *offsetError
	var se *json.SyntaxError
	if errors.As(err, &oe) {
		offset = oe.offset
	} else if errors.As(err, &se) {
		offset = se.Offset
	}
	l.problem(fmt.Sprintf("line %d", lineAt(l.path, offset)), nil, fmt.Errorf("%w (kept the %d objects read before it)", err, l.objects))
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, br.UnreadByte()
		}
	}
}

// lineAt counts the lines of path (decompressed) up to offset, for error
// messages; it reads the file again rather than tracking lines while
// decoding, which would cost every read for the rare bad file.
func lineAt(path string, offset int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0
		}
		r = zr
	}
	line := 1
	buf := make([]byte, 64<<10)
	var read int64
	for read < offset {
		n, err := r.Read(buf[:min(int64(len(buf)), offset-read)])
		line += bytes.Count(buf[:n], []byte{'\n'})
		read += int64(n)
		if err != nil {
			break
		}
	}
	return line
}

// jsonStream reads concatenated JSON values: objects, lists, arrays.
func (l *loader) jsonStream(r io.Reader) {
	dec := json.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		} else if err != nil {
			l.readError(dec.InputOffset(), err)
			return
		}
		if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
			l.problem(fmt.Sprintf("line %d", lineAt(l.path, dec.InputOffset())), nil, fmt.Errorf("expected a JSON object or array, found %v", tok))
			return
		}
		// The token just read opened a value; jsonValue reads the rest.
		if err := l.jsonValueAfterOpen(dec); err != nil {
			l.readError(dec.InputOffset(), err)
			return
		}
	}
}

// jsonValueAfterOpen reads one top-level object or array whose opening
// delimiter was just consumed. Only "items" arrays are streamed; everything
// else is small.
func (l *loader) jsonValueAfterOpen(dec *json.Decoder) error {
	// Arrays of objects (not kubectl's, but cheap to accept).
	if !dec.More() {
		_, err := dec.Token()
		return err
	}
	fields := map[string]json.RawMessage{}
	var itemsDone bool
	var pending []json.RawMessage // items seen before the list's kind
	isArray := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			// An element of a top-level array: not a key.
			isArray = true
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return fmt.Errorf("expected an object in the top-level array, found %v", tok)
			}
			if err := l.jsonValueAfterOpen(dec); err != nil {
				return err
			}
			continue
		}
		if key != "items" {
			var raw json.RawMessage
			if err := decodeValue(dec, &raw); err != nil {
				return err
			}
			fields[key] = raw
			continue
		}
		if t, err := dec.Token(); err != nil {
			return err
		} else if d, ok := t.(json.Delim); !ok || d != '[' {
			if t == nil { // "items": null
				itemsDone = true
				continue
			}
			return fmt.Errorf(`"items" is not an array`)
		}
		idx := 0
		for dec.More() {
			var raw json.RawMessage
			if err := decodeValue(dec, &raw); err != nil {
				return err
			}
			if _, known := fields["kind"]; known {
				l.item(raw, idx, fields)
			} else {
				pending = append(pending, raw)
			}
			idx++
		}
		if _, err := dec.Token(); err != nil { // ']'
			return err
		}
		itemsDone = true
	}
	if _, err := dec.Token(); err != nil { // '}' or ']'
		return err
	}
	if isArray {
		return nil
	}
	for i, raw := range pending {
		l.item(raw, i, fields)
	}
	if itemsDone {
		return nil
	}
	obj, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	l.object(obj, "")
	return nil
}

// decodeValue decodes the next value. A syntax error is placed at the start
// of the value that contains it: the decoder's own offsets leave out the
// bytes read as tokens, so they cannot name a line.
func decodeValue(dec *json.Decoder, raw *json.RawMessage) error {
	start := dec.InputOffset()
	if b, ok := dec.Buffered().(*bytes.Reader); ok {
		for {
			c, err := b.ReadByte()
			if err != nil || (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',') {
				break
			}
			start++
		}
	}
	err := dec.Decode(raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &offsetError{offset: start, err: err}
	}
	return err
}

// offsetError is an error at an absolute byte offset of the input.
type offsetError struct {
	offset int64
	err    error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

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
	for _, r := range o.Resources {
		l.seen[r] = true
	}
}

// yamlStream reads multi-document YAML, one document at a time, converting
// each to JSON.
func (l *loader) yamlStream(br *bufio.Reader) {
	doc, startLine, line := 0, 1, 0
	var buf bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(buf.Bytes())) == 0 {
			buf.Reset()
			return
		}
		doc++
		where := fmt.Sprintf("document %d (line %d)", doc, startLine)
		js, err := yaml.YAMLToJSON(buf.Bytes())
		buf.Reset()
		if err != nil {
			l.problem(where, nil, err)
			return
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			return
		}
		l.object(js, where)
	}
	for {
		s, err := br.ReadString('\n')
		if len(s) > 0 {
			line++
			if t := strings.TrimRight(s, "\r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
				flush()
				startLine = line + 1
			} else {
				buf.WriteString(s)
			}
		}
		if err == io.EOF {
			flush()
			return
		}
		if err != nil {
			// A truncated .gz: what was read before is kept; the document
			// cut short is not.
			l.problem(fmt.Sprintf("document %d (line %d)", doc+1, startLine), nil,
				fmt.Errorf("file ends early at line %d (truncated?): %v; kept the %d objects read before it", line, err, l.objects))
			return
		}
	}
}
