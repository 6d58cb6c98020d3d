package kube

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

func saveTestSnapshot(complete bool) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}}
	if !complete {
		s.Info.Skipped = []snapshot.Skipped{{Resource: snapshot.Pods, Reason: "forbidden"}}
	}
	return s
}

func TestSaveFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct{ path, kind string }{
		{link, "a symbolic link"},
		{fifo, "a named pipe"},
		{sub, "a directory"},
		{sock, "a socket"},
	} {
		_, err := SaveFile(tc.path, saveTestSnapshot(true), nil, SaveOptions{Force: true})
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.kind) {
			t.Errorf("SaveFile(%s) = %v; want a refusal naming it and %q", tc.path, err, tc.kind)
		}
	}
	if b, _ := os.ReadFile(good); string(b) != "precious" {
		t.Errorf("the symlink's target was changed: %q", b)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestSaveFileIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exists    bool
		complete  bool
		empty     bool
		force     bool
		replaced  bool
		writtenTo string
	}{
		{name: "new file, incomplete", complete: false, writtenTo: "cluster.json.gz", replaced: true},
		{name: "existing, complete", exists: true, complete: true, writtenTo: "cluster.json.gz", replaced: true},
		{name: "existing, incomplete", exists: true, complete: false, writtenTo: "cluster.incomplete.json.gz"},
		{name: "existing, empty read", exists: true, complete: true, empty: true, writtenTo: "cluster.incomplete.json.gz"},
		{name: "existing, incomplete, forced", exists: true, complete: false, force: true, writtenTo: "cluster.json.gz", replaced: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cluster.json.gz")
			if tc.exists {
				if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := saveTestSnapshot(tc.complete)
			if tc.empty {
				s.Namespaces = nil
			}
			written, err := SaveFile(path, s, nil, SaveOptions{Force: tc.force})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tc.writtenTo); written != want {
				t.Errorf("written to %s, want %s", written, want)
			}
			lr, err := Load([]string{written}, nil)
			if err != nil || len(lr.Snapshot.Namespaces) != len(s.Namespaces) {
				t.Errorf("the file written does not load back: %v", err)
			}
			b, _ := os.ReadFile(path)
			if replaced := string(b) != "old"; replaced != tc.replaced {
				t.Errorf("existing file replaced = %v, want %v", replaced, tc.replaced)
			}
		})
	}
}

func TestIncompletePath(t *testing.T) {
	for in, want := range map[string]string{
		"a/cluster.json.gz": "a/cluster.incomplete.json.gz",
		"cluster.json":      "cluster.incomplete.json",
		"dump.yaml":         "dump.incomplete.yaml",
		"snap":              "snap.incomplete",
		".json":             ".json.incomplete",
	} {
		if got := IncompletePath(in); got != want {
			t.Errorf("IncompletePath(%q) = %q, want %q", in, got, want)
		}
	}
}
