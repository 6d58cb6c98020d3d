// Command image builds premortem's container image without a daemon, with
// go-containerregistry, as an OCI image layout in a tar file (`make image`):
//
//	go run . -binary ../../bin/linux_amd64/premortem -version v1.2.3 -revision abc -out premortem.oci.tar
//
// No base image (none can be pulled in CI): two layers built here, the
// static binary at /premortem, and /etc/passwd and /etc/group naming the
// non-root user 65532 it runs as. No CA certificates: the agent trusts the
// cluster's CA from its ServiceAccount, and nothing else. Every timestamp
// is SOURCE_DATE_EPOCH (the epoch when unset), so the same binary gives the
// same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the non-root user the image runs as (distroless's "nonroot").
const User = "65532"

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

func main() {
	binary := flag.String("binary", "", "the static premortem binary (CGO_ENABLED=0, GOOS=linux)")
	arch := flag.String("arch", runtime.GOARCH, "the binary's GOARCH")
	version := flag.String("version", "dev", "org.opencontainers.image.version")
	revision := flag.String("revision", "", "org.opencontainers.image.revision (the commit)")
	source := flag.String("source", "https://github.com/premortem/premortem", "org.opencontainers.image.source")
	out := flag.String("out", "premortem.oci.tar", "the OCI image layout tar to write")
	flag.Parse()
	if err := run(*binary, *arch, *version, *revision, *source, *out); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(binary, arch, version, revision, source, out string) error {
	if binary == "" {
		return fmt.Errorf("-binary is required")
	}
	t := time.Unix(0, 0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		t = time.Unix(n, 0)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	etc, err := layer(t, []entry{
		{name: "etc/", dir: true},
		{name: "etc/group", data: []byte(group), mode: 0o644},
		{name: "etc/passwd", data: []byte(passwd), mode: 0o644},
		{name: "home/", dir: true},
		{name: "home/nonroot/", dir: true, uid: 65532},
		{name: "tmp/", dir: true, mode: 0o1777},
	})
	if err != nil {
		return err
	}
	app, err := layer(t, []entry{{name: "premortem", data: bin, mode: 0o755}})
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, etc, app); err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: t}
	labels := map[string]string{
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.title":       "premortem",
		"org.opencontainers.image.description": "Find the latent conditions behind Kubernetes incidents; premortem agent in the cluster",
	}
	cf.Config = v1.Config{
		Entrypoint: []string{"/premortem"},
		Cmd:        []string{"agent"},
		User:       User + ":" + User,
		WorkingDir: "/home/nonroot",
		Env:        []string{"HOME=/home/nonroot"},
		Labels:     labels,
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: t}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "premortem-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
	})); err != nil {
		return err
	}
	return tarDir(dir, out, t)
}

type entry struct {
	name string
	data []byte
	mode int64
	dir  bool
	uid  int
}

// layer is an uncompressed-then-gzipped tar layer of entries, with fixed
// times and owners.
func layer(t time.Time, entries []entry) (v1.Layer, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: t, Uid: e.uid, Gid: e.uid, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := b.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// tarDir writes the layout directory into a tar file, entries sorted,
// times and owners fixed, through a temporary file renamed into place.
func tarDir(dir, out string, t time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	tw := tar.NewWriter(f)
	for _, n := range names {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		h := &tar.Header{Name: n, Mode: 0o644, ModTime: t, Typeflag: tar.TypeReg, Size: st.Size(), Format: tar.FormatPAX}
		if st.IsDir() {
			h.Name, h.Mode, h.Typeflag, h.Size = n+"/", 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !st.IsDir() {
			data, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}
