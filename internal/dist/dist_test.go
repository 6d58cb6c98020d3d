package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// root is the repository root, from this package's directory.
var root = filepath.Join("..", "..")

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.3", "v1.2.3"},
		{"v1.2.3-rc.1", "v1.2.3-rc.1"},
		{"v1.2.3-4-g832440e-dirty", "v1.2.3-4-g832440e-dirty"},
		{"832440e", "v0.0.0-dev-832440e"},
		{"0123456-dirty", "v0.0.0-dev-0123456-dirty"},
		{"1.2.3", "v0.0.0-dev-1-2-3"},
		{"dev", "v0.0.0-dev-dev"},
		{"", "v0.0.0-dev"},
		{"v1.2", "v0.0.0-dev-v1-2"},
		{"v01.2.3", "v0.0.0-dev-v01-2-3"},
	} {
		if got := Version(tc.in); got != tc.want {
			t.Errorf("Version(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An archive's bytes depend on the files' names, modes and contents only:
// written twice at different times from files with different mtimes, it
// is the same, and its headers carry no owner, host time or name.
func TestWriteArchive(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("#!/bin/sh\n"), 0o700)
	os.WriteFile(b, []byte("readme\n"), 0o600)
	files := []File{{Name: "premortem", Path: a, Mode: 0o755}, {Name: "README.md", Path: b, Mode: 0o644}}
	epoch := time.Unix(1700000000, 0)
	sum1, err := WriteArchive(filepath.Join(dir, "1.tar.gz"), files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(a, time.Now(), time.Now().Add(time.Hour))
	sum2, err := WriteArchive(filepath.Join(dir, "2.tar.gz"), files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if sum1 != sum2 {
		t.Errorf("two archives of the same files differ: %s, %s", sum1, sum2)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "1.tar.gz"))
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header: time %v, name %q; want neither", zr.ModTime, zr.Name)
	}
	var names []string
	for _, h := range tarEntries(t, zr) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: owner %d:%d %q:%q, mtime %v; want 0:0, no names, %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, epoch)
		}
	}
	if want := []string{"premortem", "README.md"}; !slices.Equal(names, want) {
		t.Errorf("entries %v, want %v", names, want)
	}
}

// tool returns a pinned tool built by tools/build.sh (make tools).
func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(root, ".cache", "tools", "bin", name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("%s not found at %s: build it with `make tools`", name, p)
	}
	p, _ = filepath.Abs(p)
	return p
}

// Two release builds of the same commit, each from its own copy in its own
// directory (git archive HEAD: the shared work tree may change between the
// builds), give the same archives and sums; the
// filled manifest passes krew's own validation; krew installs the archive
// from it, and the installed kubectl-premortem names itself so. The host's
// platform only, to spare CI's cores (a cold cross-compile of premortem's
// dependencies takes many minutes on two shared cores); `make dist` builds
// all four with the same code.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds premortem twice")
	}
	host := Platform{runtime.GOOS, runtime.GOARCH}
	if !slices.Contains(Platforms, host) {
		t.Skipf("%s/%s is not a release platform", host.OS, host.Arch)
	}
	platforms := []Platform{host}
	validate, krew := tool(t, "validate-krew-manifest"), tool(t, "krew")
	ctx := context.Background()
	var sums [2][]byte
	var out [2]string
	for i := range 2 {
		out[i] = t.TempDir()
		_, err := Build(ctx, Options{Root: exportHead(t), Out: out[i], Version: "v1.2.3", Time: time.Unix(1700000000, 0),
			Template: filepath.Join(root, "deploy", "krew", "premortem.yaml"), Extra: []string{"README.md"}, Platforms: platforms,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if sums[i], err = os.ReadFile(filepath.Join(out[i], SumsFile)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s:\n%s", SumsFile, sums[0])
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatalf("two builds differ:\n%s\n%s", sums[0], sums[1])
	}
	if n := strings.Count(string(sums[0]), "\n"); n != len(platforms) {
		t.Errorf("%d sums, want %d", n, len(platforms))
	}

	manifest := filepath.Join(out[0], ManifestFile)
	if b, err := exec.Command(validate, "-manifest", manifest, "-skip-install").CombinedOutput(); err != nil {
		t.Fatalf("validate-krew-manifest: %v\n%s", err, b)
	}
	var m struct {
		Spec struct {
			Version   string `json:"version"`
			Platforms []struct {
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	data, _ := os.ReadFile(manifest)
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Spec.Version != "v1.2.3" || len(m.Spec.Platforms) != len(platforms) {
		t.Errorf("manifest: version %q, %d platforms", m.Spec.Version, len(m.Spec.Platforms))
	}
	for _, p := range m.Spec.Platforms {
		if !strings.Contains(string(sums[0]), p.SHA256+"  "+filepath.Base(p.URI)+"\n") {
			t.Errorf("manifest: %s %s is not in the sums", p.SHA256, p.URI)
		}
	}

	krewRoot := t.TempDir()
	archive := filepath.Join(out[0], "premortem_v1.2.3_"+host.OS+"_"+host.Arch+".tar.gz")
	cmd := exec.Command(krew, "install", "--manifest", manifest, "--archive", archive)
	cmd.Env = append(os.Environ(), "KREW_ROOT="+krewRoot)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("krew install: %v\n%s", err, b)
	}
	plugin := filepath.Join(krewRoot, "bin", "kubectl-premortem")
	if b, err := exec.Command(plugin, "version").Output(); err != nil || string(b) != "premortem v1.2.3\n" {
		t.Errorf("kubectl-premortem version: %q, %v; want premortem v1.2.3", b, err)
	}
	b, _ := exec.Command(plugin, "scan", "--bogus").CombinedOutput()
	if got, want := strings.TrimSpace(string(b)), "kubectl premortem: unknown flag: --bogus"; got != want {
		t.Errorf("kubectl-premortem scan --bogus: %q, want %q", got, want)
	}
}

// exportHead writes the files of the commit HEAD into a new directory, as
// a fresh clone has them, and returns it.
func exportHead(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("git", "archive", "--format=tar", "HEAD")
	cmd.Dir = root
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("git archive HEAD: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, os.FileMode(h.Mode)&0o755|0o600)
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
