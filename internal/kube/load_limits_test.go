package kube

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/premortem/premortem/internal/sizelimit"
)

func gzipFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(content)
	zw.Close()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func namespaceItem(name, pad string) string {
	return `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + name + `","annotations":{"pad":"` + pad + `"}}}`
}

// Input past a maximum is a Problem naming the file and the byte offset,
// never an out-of-memory crash; what comes before it is kept.
func TestLoadLimits(t *testing.T) {
	big := strings.Repeat("x", 4<<10)
	list := `{"apiVersion":"v1","kind":"List","items":[` + namespaceItem("a", "") + ",\n" + namespaceItem("b", big) + "]}\n"
	yamlDocs := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n  annotations:\n    pad: " + big + "\n---\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n"
	tests := []struct {
		name    string
		path    string
		limits  Limits
		want    []string // substrings of the problems
		objects int
	}{
		{"an item past the maximum is skipped", writeFile(t, "item.json", list), Limits{Item: 1 << 10},
			[]string{"item.json: item 1 at byte 131: larger than the 1KiB maximum for one item; skipped it"}, 1},
		{"fields of an object past the document maximum", writeFile(t, "obj.json", namespaceItem("b", big)), Limits{Document: 1 << 10},
			[]string{"obj.json: the object at byte 0: larger than the 1KiB maximum for one document"}, 0},
		{"a YAML document past the maximum is skipped", writeFile(t, "docs.yaml", yamlDocs), Limits{Document: 1 << 10},
			[]string{"docs.yaml: document 2 (line 6) at byte 55: larger than the 1KiB maximum for one document; skipped it"}, 2},
		{"a YAML line past the maximum, in pieces", writeFile(t, "line.yaml", "a: "+strings.Repeat("y", 3<<20)+"\n---\n"+"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n"),
			Limits{Document: 1 << 20}, []string{"line.yaml: document 1 (line 1) at byte 0: larger than the 1MiB maximum"}, 1},
		{"a file past the input maximum", gzipFile(t, "long.json.gz", []byte(list)), Limits{Input: 200},
			[]string{"long.json.gz: byte 200: larger than the 200B maximum for one input (decompressed); kept the 1 objects"}, 1},
		{"a YAML file past the input maximum", writeFile(t, "long.yaml", yamlDocs), Limits{Input: 100},
			[]string{"long.yaml: byte 100: larger than the 100B maximum for one input"}, 1},
		// Binary data is neither YAML nor JSON: a gzip bomb of zeros ends
		// at its first byte instead of being held whole.
		{"NUL bytes", gzipFile(t, "zeros.json.gz", make([]byte, 64<<20)), Limits{},
			[]string{"zeros.json.gz: byte 0: a NUL byte: binary data, not YAML or JSON"}, 0},
		{"an object kept whole past the document maximum", writeFile(t, "pending.json", `{"items":[`+namespaceItem("a", big)+`],"kind":"List"}`), Limits{Document: 1 << 10},
			[]string{"pending.json: the object at byte 0: larger than the 1KiB maximum for one document"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := LoadVisit([]string{tt.path}, nil, nil, nil, tt.limits)
			if tt.objects == 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, p := range r.Problems {
				msgs = append(msgs, p.Error())
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q do not say %q", all, w)
				}
			}
			if r.Objects != tt.objects {
				t.Errorf("kept %d objects, want %d", r.Objects, tt.objects)
			}
			if len(r.Snapshot.Info.Skipped) == 0 {
				t.Error("the file is not marked as not read whole")
			}
		})
	}
}

// An item past the maximum is skipped, whatever surrounds it, and the
// items after it are read; whitespace, however long, is no item.
func TestLoadSkipsLargeItems(t *testing.T) {
	big := namespaceItem("big", strings.Repeat(`x\"]}[{`, 200))
	ns := func(names ...string) string {
		var items []string
		for _, n := range names {
			if n == "big" {
				items = append(items, big)
			} else {
				items = append(items, namespaceItem(n, ""))
			}
		}
		return strings.Join(items, ",\n")
	}
	tests := []struct {
		name, content string
		want          string // namespaces loaded
		skipped       []string
	}{
		{"in the middle", `{"apiVersion":"v1","kind":"List","items":[` + ns("a", "big", "c") + `]}`, "a c", []string{"item 1 at byte 131"}},
		{"first and last", `{"kind":"List","items":[` + ns("big", "a", "big") + "\n]}", "a", []string{"item 0 at byte 24", "item 2 at byte"}},
		{"before the list's kind", `{"items":[` + ns("a", "big", "c") + `],"apiVersion":"v1","kind":"List"}`, "a c", []string{"item 1 at byte 99"}},
		{"in an array of lists", `[{"kind":"List","items":[` + ns("big", "a") + `]},{"kind":"List","items":[` + ns("c") + `]},` + ns("d") + `]`, "a c d", []string{"item 0 at byte 25"}},
		{"a string", `{"kind":"List","items":["` + strings.Repeat("s", 3000) + `",` + ns("a") + `]}`, "a", []string{"item 0 at byte 24"}},
		{"a number", `{"kind":"List","items":[` + strings.Repeat("1", 3000) + `,` + ns("a") + `]}`, "a", []string{"item 0 at byte 24"}},
		{"whitespace", `{"kind":"List","items":[` + strings.Repeat(" \n", 3000) + ns("a") + strings.Repeat(" ", 3000) + `]}`, "a", nil},
		{"two lists", `{"kind":"List","items":[` + ns("big", "a") + `]}` + "\n" + `{"kind":"List","items":[` + ns("big", "b") + `]}`, "a b", []string{"item 0 at byte 24", "item 0 at byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{writeFile(t, "in.json", tt.content), gzipFile(t, "in.json.gz", []byte(tt.content))} {
				r, err := LoadVisit([]string{path}, nil, nil, nil, Limits{Item: 1 << 10})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, n := range r.Snapshot.Namespaces {
					got = append(got, n.Name)
				}
				if strings.Join(got, " ") != tt.want {
					t.Errorf("%s: namespaces %q, want %q (problems %v)", filepath.Base(path), got, tt.want, r.Problems)
				}
				if len(r.Problems) != len(tt.skipped) {
					t.Fatalf("%s: problems %v, want %d", filepath.Base(path), r.Problems, len(tt.skipped))
				}
				for i, p := range r.Problems {
					if !strings.HasPrefix(p.Where, tt.skipped[i]) || !strings.HasSuffix(p.Err.Error(), "larger than the 1KiB maximum for one item; skipped it") {
						t.Errorf("%s: problem %v, want at %s", filepath.Base(path), p, tt.skipped[i])
					}
				}
			}
		})
	}
}

// UTF-16 holds NUL bytes, yet is no binary data: PowerShell's `kubectl get
// -o yaml > file` writes it, and the YAML decoder reads it by its BOM.
func TestLoadUTF16(t *testing.T) {
	text := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
	le := []byte{0xff, 0xfe}
	for _, r := range text {
		le = append(le, byte(r), 0)
	}
	r, err := Load([]string{writeFile(t, "ns.yaml", string(le))}, nil)
	if err != nil || len(r.Problems) > 0 || len(r.Snapshot.Namespaces) != 1 {
		t.Fatalf("err %v, problems %v, objects %d", err, r.Problems, r.Objects)
	}
}

// Whitespace before a file's content counts in lines and offsets, and the
// first line's indentation is part of a YAML document.
func TestLoadLeadingWhitespace(t *testing.T) {
	bad, _ := os.ReadFile("testdata/bad.json")
	tests := []struct {
		name, content string
		objects       int
		where         string // of the one problem
	}{
		{"indented YAML", "\n\n  apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n", 1, ""},
		{"a YAML error after blank lines", "\n\n\napiVersion: v1\nkind: [\n", 0, "document 1 (line 4)"},
		{"a JSON error after blank lines", "\n\n\n" + string(bad), 1, "line 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load([]string{writeFile(t, "in.yaml", tt.content)}, nil)
			if tt.objects == 0 {
				if err == nil || !strings.Contains(err.Error(), ": "+tt.where+": ") {
					t.Fatalf("err = %v, want at %s", err, tt.where)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Objects != tt.objects {
				t.Fatalf("objects %d, problems %v", r.Objects, r.Problems)
			}
			if tt.where == "" && len(r.Problems) > 0 || tt.where != "" && (len(r.Problems) != 1 || r.Problems[0].Where != tt.where) {
				t.Errorf("problems %v, want at %q", r.Problems, tt.where)
			}
		})
	}
}

// Within the maxima nothing changes: an item of exactly the maximum loads.
func TestLoadLimitsExact(t *testing.T) {
	item := namespaceItem("a", "")
	path := writeFile(t, "exact.json", "["+item+"]")
	r, err := LoadVisit([]string{path}, nil, nil, nil, Limits{Item: sizelimit.Size(len(item)), Document: sizelimit.Size(len(item))})
	if err != nil || len(r.Problems) > 0 || r.Objects != 1 {
		t.Fatalf("err %v, problems %v, objects %d", err, r.Problems, r.Objects)
	}
}

// A snapshot directory: special files are skipped with a problem, never
// opened (a FIFO blocks, /dev/zero never ends); an unreadable subdirectory
// is a problem like an unreadable file; linked directories are read once.
func TestLoadDirectoryHostile(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	pods, _ := os.ReadFile("testdata/podlist.json")
	os.WriteFile(filepath.Join(elsewhere, "pods.json"), pods, 0o644)
	os.WriteFile(filepath.Join(dir, "ns.json"), []byte(namespaceItem("a", "")), 0o644)
	for name, target := range map[string]string{"zero.json": "/dev/zero", "linked": elsewhere, "loop": dir} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked")
	os.Mkdir(locked, 0o755)
	os.WriteFile(filepath.Join(locked, "x.json"), []byte(namespaceItem("x", "")), 0o644)
	os.Chmod(locked, 0)
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	unreadable := "permission denied"
	if os.Getuid() == 0 {
		// root reads any directory whatever its mode: make it something
		// no one can list.
		os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "broken.json"))
		unreadable = "no such file or directory"
	}

	r, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"Pod": 2, "Namespace": 1}
	if os.Getuid() == 0 {
		want["Namespace"] = 2 // locked/x.json
	}
	if got := counts(r.Snapshot); !equalCounts(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	var msgs []string
	for _, p := range r.Problems {
		msgs = append(msgs, strings.ReplaceAll(p.Error(), dir+"/", ""))
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{
		"fifo.yaml: not read: a named pipe, not a regular file",
		"zero.json: not read: a device, not a regular file",
		unreadable,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("problems %q do not say %q", all, w)
		}
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "loop: not read again: the same as "+dir) {
		t.Errorf("notes = %q, want the loop named", r.Notes)
	}
}
