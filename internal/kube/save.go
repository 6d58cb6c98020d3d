package kube

import (
	"bufio"
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

	"github.com/premortem/premortem/internal/dirwalk"
	"github.com/premortem/premortem/internal/snapshot"
)

// Save writes s as a kubectl-compatible v1 List: `kubectl get -f` and jq read
// it, and Load reads it back into the same Snapshot. The first item is a
// premortem SnapshotInfo carrying s.Info and the kinds the file covers, so a
// scan of the file knows what was and was not read. Objects are written one
// at a time, never as one in-memory document.
func Save(w io.Writer, s *snapshot.Snapshot, covered []snapshot.Resource) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := io.WriteString(bw, `{"apiVersion":"v1","kind":"List","metadata":{},"items":[`+"\n"); err != nil {
		return err
	}
	enc := json.NewEncoder(bw)
	first := true
	emit := func(o any) error {
		if !first {
			if _, err := io.WriteString(bw, ","); err != nil {
				return err
			}
		}
		first = false
		// Encode ends each item with a newline: one object per line, so
		// line numbers in load errors point at an object.
		return enc.Encode(o)
	}
	if err := emit(infoObject{APIVersion: InfoAPIVersion, Kind: InfoKind, Info: s.Info, Resources: covered, Counts: s.Info.Counts}); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	for _, r := range savedKinds(s) {
		if err := specFor(r).objects(s, emit); err != nil {
			return fmt.Errorf("write snapshot: %w", err)
		}
	}
	if _, err := io.WriteString(bw, "]}\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// savedKinds lists the kinds with objects in s, full kinds first, in a
// stable order.
func savedKinds(s *snapshot.Snapshot) []snapshot.Resource {
	out := append([]snapshot.Resource(nil), FullResources...)
	known := map[snapshot.Resource]bool{}
	for _, r := range AllResources() {
		known[r] = true
	}
	out = append(out, MetadataResources...)
	var extra []snapshot.Resource
	for r := range s.Metadata {
		if !known[r] {
			extra = append(extra, r)
		}
	}
	sortResources(extra)
	return append(out, extra...)
}

func sortResources(rs []snapshot.Resource) {
	sort.Slice(rs, func(i, j int) bool { return resourceLess(rs[i], rs[j]) })
}

// SaveOptions tune SaveFile.
type SaveOptions struct {
	// Force replaces an existing file even with an incomplete snapshot.
	Force bool
}

// SaveFile writes a snapshot to path (gzip-compressed when it ends in .gz)
// and returns the path written. It never takes a good file down with it:
//   - it refuses a path that exists and is not a regular file (a symlink,
//     a directory, a named pipe, a device: `snapshot save /dev/null` as
//     root must not replace /dev/null);
//   - it writes through a temporary file renamed into place, so an
//     interrupted save leaves the old file whole;
//   - an incomplete snapshot (a kind not read, or no object at all) does
//     not replace an existing file unless opts.Force: it is written beside
//     it (IncompletePath) instead.
//
// Errors name path, never the temporary file.
func SaveFile(path string, s *snapshot.Snapshot, covered []snapshot.Resource, opts SaveOptions) (string, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("save snapshot to %s: %w", path, pathless(err))
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("save snapshot to %s: it exists and is %s, not a regular file; choose another path", path, dirwalk.FileType(st.Mode()))
	case !opts.Force && (!s.Info.Complete() || s.Objects() == 0):
		path = IncompletePath(path)
		if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
			return "", fmt.Errorf("save snapshot to %s: it exists and is %s, not a regular file; choose another path", path, dirwalk.FileType(st.Mode()))
		}
	}
	if err := writeSnapshotFile(path, s, covered); err != nil {
		return "", fmt.Errorf("save snapshot to %s: %w", path, err)
	}
	return path, nil
}

// IncompletePath is where SaveFile puts an incomplete snapshot instead of
// replacing path: cluster.json.gz becomes cluster.incomplete.json.gz.
func IncompletePath(path string) string {
	dir, base := filepath.Split(path)
	name, ext := base, ""
	for _, e := range []string{".json.gz", ".yaml.gz", ".json", ".yaml", ".gz"} {
		if strings.HasSuffix(base, e) && len(base) > len(e) {
			name, ext = strings.TrimSuffix(base, e), e
			break
		}
	}
	return filepath.Join(dir, name+".incomplete"+ext)
}

func writeSnapshotFile(path string, s *snapshot.Snapshot, covered []snapshot.Resource) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return pathless(err)
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(tmp)
		w = zw
	}
	err = Save(w, s, covered)
	if zw != nil {
		err = errors.Join(err, zw.Close())
	}
	// Data on disk before the rename makes it visible: a crash then leaves
	// the old file, not an empty new one.
	err = errors.Join(err, tmp.Sync(), tmp.Close())
	if err != nil {
		return pathless(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return pathless(err)
	}
	return nil
}

// pathless drops the file name from an os error, so that messages name the
// target and not a temporary file.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
