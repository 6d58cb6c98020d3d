package cli

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/spf13/cobra"
)

func newSnapshotCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save a cluster's state to a file that `scan --snapshot` reads",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSnapshotSaveCommand(streams))
	return cmd
}

func newSnapshotSaveCommand(streams Streams) *cobra.Command {
	flags := kube.NewFlags()
	var chunk int64
	cmd := &cobra.Command{
		Use:   "save PATH",
		Short: "Read the cluster cheaply and write a snapshot file (PATH ending in .gz is compressed; - is stdout)",
		Long: `save reads everything any check needs with the same cheap read as scan (one
paginated LIST per kind, served from the API server's watch cache,
metadata-only where enough, Secret data never read) and writes a
kubectl-compatible v1 List. Its first item, a premortem.dev/v1alpha1
SnapshotInfo, records where and when it was read and what could not be,
so "premortem scan --snapshot PATH" gives the same findings as a live scan.

Exit codes: 0 saved; 2 bad flags or cluster unreachable; 3 saved, but some
kinds could not be read (listed on stderr and in the file).`,
		Example: `  premortem snapshot save cluster.json.gz
  premortem snapshot save --context prod -n shop - | jq '.items | length'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return saveSnapshot(cmd.Context(), streams, flags, chunk, args[0])
		},
	}
	flags.AddFlags(cmd.Flags())
	addChunkSize(cmd, &chunk)
	return cmd
}

func saveSnapshot(ctx context.Context, streams Streams, flags *kube.Flags, chunk int64, path string) error {
	limitMemory()
	// Everything premortem reads, and whatever any check reads beyond it,
	// so a scan of the file finds every kind a live scan would.
	all, _ := readsOf(checks.All())
	want := append(kube.AllResources(), all...)
	rr, err := readLive(ctx, streams, flags, chunk, want)
	if err != nil {
		return err
	}
	snap := rr.Snapshot
	if err := writeSnapshotFile(path, streams.Out, snap, rr.Covered); err != nil {
		return withExit(ExitError, err)
	}
	if path != "-" {
		fmt.Fprintf(streams.ErrOut, "saved %d objects to %s\n", countObjects(snap), path)
	}
	if !snap.Info.Complete() {
		for _, s := range snap.Info.Skipped {
			fmt.Fprintf(streams.ErrOut, "not read: %s: %s\n", resourceName(s.Resource), s.Reason)
		}
		for _, d := range snap.Info.DiscoveryFailures {
			fmt.Fprintf(streams.ErrOut, "discovery failed: %s: %s\n", d.GroupVersion, d.Error)
		}
		return withExit(ExitIncomplete, nil)
	}
	return nil
}

// writeSnapshotFile writes atomically: a rename, so an interrupted save never
// leaves a truncated file where a good one was.
func writeSnapshotFile(path string, stdout io.Writer, snap *snapshot.Snapshot, covered []snapshot.Resource) error {
	if path == "-" {
		return kube.Save(stdout, snap, covered)
	}
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
	err = kube.Save(w, snap, covered)
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

// readLive reads want from the cluster the flags point at, showing progress
// on stderr when it is a terminal.
// addChunkSize adds kubectl's --chunk-size: the page size of every LIST.
func addChunkSize(cmd *cobra.Command, chunk *int64) {
	cmd.Flags().Int64Var(chunk, "chunk-size", kube.DefaultPageSize, "objects per LIST page (`N`); every kind is listed once, in pages of this size")
}

func readLive(ctx context.Context, streams Streams, flags *kube.Flags, chunk int64, want []snapshot.Resource) (*kube.ReadResult, error) {
	if chunk <= 0 {
		return nil, withExit(ExitError, fmt.Errorf("--chunk-size %d: want a positive number", chunk))
	}
	counter := &kube.Counter{}
	cfg, err := flags.RESTConfig(kube.ClientOptions{UserAgent: userAgent(), Counter: counter})
	if err != nil {
		return nil, withExit(ExitError, err)
	}
	start := time.Now()
	r := &kube.Reader{Config: cfg, Namespace: flags.Namespace(), PageSize: chunk}
	var stopProgress func()
	if IsTerminal(streams.ErrOut) {
		r.Progress, stopProgress = progressLine(streams.ErrOut)
	}
	rr, err := r.Read(ctx, want)
	if stopProgress != nil {
		stopProgress()
	}
	if err != nil {
		return nil, withExit(ExitError, err)
	}
	lists := 0
	for _, n := range rr.Pages {
		lists += n
	}
	// -v shows what the read cost; the scan benchmark parses this line.
	slog.Info("read cluster", "server", cfg.Host, "objects", countObjects(rr.Snapshot), "kinds", len(rr.Pages),
		"listRequests", lists, "requests", counter.Requests(), "bodyBytes", counter.BodyBytes(),
		"wireBytes", counter.WireBytes(), "restarts", rr.Restarts, "seconds", time.Since(start).Seconds())
	return rr, nil
}

// progressLine returns a Progress callback that redraws one status line at
// most ten times a second, and a function that erases it.
func progressLine(w io.Writer) (func(kube.Progress), func()) {
	var mu sync.Mutex
	var last time.Time
	drawn := false
	update := func(p kube.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 100*time.Millisecond && p.KindsDone < p.KindsTotal {
			return
		}
		last = time.Now()
		drawn = true
		fmt.Fprintf(w, "\rreading: %d/%d kinds, %d objects ", p.KindsDone, p.KindsTotal, p.Items)
	}
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		if drawn {
			fmt.Fprint(w, "\r\033[K")
		}
	}
	return update, stop
}

// softMemoryLimit keeps premortem's heap under about 1 GiB on the largest
// clusters: near the limit the garbage collector runs more often rather
// than letting garbage double the heap. GOMEMLIMIT overrides it.
const softMemoryLimit = 800 << 20

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}

func userAgent() string { return "premortem/" + version }

func resourceName(r snapshot.Resource) string {
	if r.Kind == kube.FileKind {
		return "file " + r.Resource
	}
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

func countObjects(s *snapshot.Snapshot) int {
	n := len(s.Namespaces) + len(s.Nodes) + len(s.Pods) + len(s.Services) + len(s.EndpointSlices) +
		len(s.Deployments) + len(s.DaemonSets) + len(s.StatefulSets) + len(s.Jobs) +
		len(s.PodDisruptionBudgets) + len(s.APIServices)
	for _, items := range s.Metadata {
		n += len(items)
	}
	return n
}
