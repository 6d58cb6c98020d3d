package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ociTar is an OCI image layout read from a tar file, by path.
type ociTar map[string][]byte

func readOCITar(t *testing.T, path string) ociTar {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := ociTar{}
	for _, e := range tarEntries(t, f) {
		out[e.Name] = e.data
	}
	return out
}

// entry is one regular file of a tar stream.
type entry struct {
	*tar.Header
	data []byte
}

// tarEntries reads the regular files of a tar stream, in order.
func tarEntries(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(io.LimitReader(tr, 512<<20))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, entry{h, data})
		}
	}
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// blob returns the blob a descriptor names, decoded into v when v is not nil.
func (o ociTar) blob(t *testing.T, d descriptor, v any) []byte {
	t.Helper()
	algo, hex, _ := strings.Cut(d.Digest, ":")
	data, ok := o["blobs/"+algo+"/"+hex]
	if !ok {
		t.Fatalf("no blob %s", d.Digest)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", d.Digest, err)
		}
	}
	return data
}

// TestImage builds the image as `make image` does (a static linux binary,
// then tools/image) twice, and reads the OCI layout: the same bytes both
// times, entrypoint, non-root user and OCI labels as promised, and the
// binary in its layer runs `version`.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds premortem and the image tool")
	}
	if runtime.GOOS != "linux" {
		t.Skip("runs the image's linux binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "premortem")
	if err := compile(context.Background(), root, Platform{"linux", runtime.GOARCH}, "v1.2.3", bin); err != nil {
		t.Fatal(err)
	}
	var images [2][]byte
	for i := range images {
		out := filepath.Join(dir, "image.tar")
		cmd := exec.Command("go", "run", ".", "-binary", bin, "-arch", runtime.GOARCH, "-version", "v1.2.3", "-revision", "0123abc", "-out", out)
		cmd.Dir = filepath.Join(root, "tools", "image")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tools/image: %v\n%s", err, b)
		}
		images[i], _ = os.ReadFile(out)
	}
	if !bytes.Equal(images[0], images[1]) {
		t.Error("two builds of the image from the same binary differ")
	}
	o := readOCITar(t, filepath.Join(dir, "image.tar"))

	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(o["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d manifests", err, len(index.Manifests))
	}
	if _, ok := o["oci-layout"]; !ok {
		t.Error("no oci-layout file")
	}
	var manifest struct {
		MediaType string       `json:"mediaType"`
		Config    descriptor   `json:"config"`
		Layers    []descriptor `json:"layers"`
	}
	o.blob(t, index.Manifests[0], &manifest)
	if manifest.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %q", manifest.MediaType)
	}
	var config struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Config       struct {
			Entrypoint []string          `json:"Entrypoint"`
			Cmd        []string          `json:"Cmd"`
			User       string            `json:"User"`
			Labels     map[string]string `json:"Labels"`
		} `json:"config"`
	}
	o.blob(t, manifest.Config, &config)
	c := config.Config
	if strings.Join(c.Entrypoint, " ") != "/premortem" || strings.Join(c.Cmd, " ") != "agent" {
		t.Errorf("entrypoint %q, cmd %q; want /premortem agent", c.Entrypoint, c.Cmd)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
	}
	if config.OS != "linux" || config.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", config.OS, config.Architecture)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/premortem/premortem",
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.revision": "0123abc",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}

	// Every layer's files; the binary, run from where the layer puts it.
	files := map[string][]byte{}
	for _, l := range manifest.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(o.blob(t, l, nil)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tarEntries(t, zr) {
			files[e.Name] = e.data
			if e.Name == "premortem" && e.Mode&0o111 == 0 {
				t.Errorf("premortem mode %o: not executable", e.Mode)
			}
		}
	}
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Errorf("etc/passwd names no user 65532:\n%s", files["etc/passwd"])
	}
	extracted := filepath.Join(dir, "from-layer")
	if err := os.WriteFile(extracted, files["premortem"], 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(extracted, "version").Output(); err != nil || string(b) != "premortem v1.2.3\n" {
		t.Errorf("premortem version from the layer: %q, %v", b, err)
	}
}
