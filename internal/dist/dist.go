// Package dist builds premortem's release: one static binary per platform
// (cross-compiled with -trimpath and the version in its ldflags), each in a
// reproducible tar.gz (fixed order, mtimes, owners and modes; a gzip header
// without a time), their sha256 sums, and the krew manifest filled from
// them. Two builds of the same commit give the same bytes.
package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Platform is one OS and architecture a release is built for.
type Platform struct{ OS, Arch string }

// Platforms are the release's platforms: what krew users run kubectl on.
var Platforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}}

// Module is the main package's import path, and the ldflag that stamps the version.
const (
	Module      = "github.com/premortem/premortem/cmd/premortem"
	VersionFlag = "github.com/premortem/premortem/internal/cli.version"
	// ReleaseURL is where the archives are published; the krew manifest points there.
	ReleaseURL = "https://github.com/premortem/premortem/releases/download"
)

// Options say what to build and where.
type Options struct {
	// Root is the repository root (the main module's directory).
	Root string
	// Out is the directory the archives, sums and manifest are written to.
	Out string
	// Version is the release's version (Version normalises it).
	Version string
	// Time is every archive entry's modification time (SOURCE_DATE_EPOCH).
	Time time.Time
	// Template is the krew manifest template (deploy/krew/premortem.yaml).
	Template string
	// Extra are files of Root put beside the binary in each archive.
	Extra []string
	// Platforms to build; nil is all of Platforms.
	Platforms []Platform
	Log       *slog.Logger
}

// Artifact is one archive written.
type Artifact struct {
	Platform
	Name   string // the archive's file name
	SHA256 string
	URI    string
}

// SumsFile and ManifestFile are the names written into Out beside the archives.
const (
	SumsFile     = "sha256sums.txt"
	ManifestFile = "premortem.yaml"
)

var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// Version returns v when it is a semantic version with a leading v (as krew
// requires), else v0.0.0-dev-V with V reduced to what a pre-release
// identifier allows (git describe of an untagged commit: a hash, -dirty).
func Version(v string) string {
	if semver.MatchString(v) {
		return v
	}
	clean := strings.Trim(regexp.MustCompile(`[^0-9A-Za-z-]+`).ReplaceAllString(v, "-"), "-")
	if clean == "" {
		return "v0.0.0-dev"
	}
	return "v0.0.0-dev-" + clean
}

// Build writes every platform's archive, the sums and the manifest into
// o.Out, and returns the archives.
func Build(ctx context.Context, o Options) ([]Artifact, error) {
	version := Version(o.Version)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "premortem-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var arts []Artifact
	var sums bytes.Buffer
	platforms := o.Platforms
	if platforms == nil {
		platforms = Platforms
	}
	for _, p := range platforms {
		bin := filepath.Join(work, p.OS+"-"+p.Arch, "premortem")
		if err := compile(ctx, o.Root, p, version, bin); err != nil {
			return nil, err
		}
		files := []File{{Name: "premortem", Path: bin, Mode: 0o755}}
		for _, e := range o.Extra {
			files = append(files, File{Name: filepath.Base(e), Path: filepath.Join(o.Root, e), Mode: 0o644})
		}
		name := fmt.Sprintf("premortem_%s_%s_%s.tar.gz", version, p.OS, p.Arch)
		sum, err := WriteArchive(filepath.Join(o.Out, name), files, o.Time)
		if err != nil {
			return nil, err
		}
		o.Log.Info("archive", "file", name, "sha256", sum)
		arts = append(arts, Artifact{Platform: p, Name: name, SHA256: sum, URI: ReleaseURL + "/" + version + "/" + name})
		fmt.Fprintf(&sums, "%s  %s\n", sum, name)
	}
	if err := writeFile(filepath.Join(o.Out, SumsFile), sums.Bytes()); err != nil {
		return nil, err
	}
	if o.Template != "" {
		m, err := Manifest(o.Template, version, arts)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(o.Out, ManifestFile), m); err != nil {
			return nil, err
		}
	}
	return arts, nil
}

// compile builds a static premortem for p: no cgo, -trimpath, no build ID
// (it hashes the paths of the build's inputs), the version stamped in.
func compile(ctx context.Context, root string, p Platform, version, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -buildid= -X "+VersionFlag+"="+version, "-o", out, "./cmd/premortem")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w\n%s", p.OS, p.Arch, err, b)
	}
	return nil
}

// File is one archive entry: Name in the archive, from Path on disk.
type File struct {
	Name string
	Path string
	Mode int64
}

// WriteArchive writes files, in the order given, into a tar.gz at path and
// returns its sha256. Every header is the same but for name, size and mode:
// mtime t, owner 0:0 with no names, PAX-free USTAR; the gzip header has
// no name and no time. The file is written beside path and renamed.
func WriteArchive(path string, files []File, t time.Time) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return "", err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: f.Mode, Size: int64(len(data)),
			ModTime: t.UTC().Truncate(time.Second), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", fmt.Errorf("%s: %w", f.Name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), writeFile(path, buf.Bytes())
}

// Manifest fills the krew manifest template with the version and the
// archives (.Version, .Platforms: OS, Arch, URI, SHA256).
func Manifest(templatePath, version string, arts []Artifact) ([]byte, error) {
	src, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New(filepath.Base(templatePath)).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("krew manifest template: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct {
		Version   string
		Platforms []Artifact
	}{version, arts}); err != nil {
		return nil, fmt.Errorf("krew manifest template: %w", err)
	}
	return b.Bytes(), nil
}

// writeFile writes data to a temporary file beside path, then renames it:
// an interrupted build leaves the old file, never half a new one.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
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
	return os.Rename(f.Name(), path)
}
