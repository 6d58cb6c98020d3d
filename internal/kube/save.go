package kube

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	if err := emit(infoObject{APIVersion: InfoAPIVersion, Kind: InfoKind, Info: s.Info, Resources: covered}); err != nil {
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

// SaveFile writes a snapshot to path (gzip-compressed when it ends in .gz)
// through a temporary file renamed into place, so an interrupted save never
// leaves a truncated file where a good one was.
func SaveFile(path string, s *snapshot.Snapshot, covered []snapshot.Resource) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
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
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}
