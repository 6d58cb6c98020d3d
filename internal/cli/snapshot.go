package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
)

func newSnapshotCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save a cluster's state to a file that `scan --snapshot` reads",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSnapshotSaveCommand(e))
	return cmd
}

func newSnapshotSaveCommand(e *env) *cobra.Command {
	flags := kube.NewFlags()
	var force bool
	cmd := &cobra.Command{
		Use:   "save PATH",
		Short: "Read the cluster cheaply and write a snapshot file (PATH ending in .gz is compressed; - is stdout)",
		Long: `save reads everything any check needs with the same cheap read as scan (one
paginated LIST per kind, served from the API server's watch cache,
metadata-only where enough, Secret data never read) and writes a
kubectl-compatible v1 List. Its first item, a premortem.dev/v1alpha1
SnapshotInfo, records where and when it was read and what could not be,
so "premortem scan --snapshot PATH" gives the same findings as a live scan.

PATH must be a regular file or not exist: a symlink, directory, named pipe
or device is refused. The file is replaced only once the new one is
written whole. An incomplete read (a kind not read, or no object at all)
does not replace an existing file: it is written beside it, as
NAME.incomplete.json.gz, unless --force is given.

Exit codes: 0 saved; 2 bad flags, cluster unreachable, or PATH refused; 3
saved, but some kinds could not be read (listed on stderr and in the file).`,
		Example: `  premortem snapshot save cluster.json.gz
  premortem snapshot save --context prod -n shop - | jq '.items | length'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return saveSnapshot(cmd.Context(), e, flags, args[0], kube.SaveOptions{Force: force})
		},
	}
	flags.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing PATH even when the read was incomplete")
	return cmd
}

func saveSnapshot(ctx context.Context, e *env, flags *kube.Flags, path string, opts kube.SaveOptions) error {
	limitMemory()
	// Everything premortem reads, and whatever any check reads beyond it,
	// so a scan of the file finds every kind a live scan would.
	want := append(kube.AllResources(), kube.NeedOf(checks.All()).Want...)
	// Counts of every other kind too (custom resources), so object-growth
	// compares them against this file as a baseline.
	rr, err := readLive(ctx, e, flags, want, true)
	if err != nil {
		return err
	}
	snap := rr.Snapshot
	if path == "-" {
		if err := kube.Save(e.Out, snap, rr.Covered); err != nil {
			return withExit(ExitError, err)
		}
	} else {
		written, err := kube.SaveFile(path, snap, rr.Covered, opts)
		if err != nil {
			return withExit(ExitError, err)
		}
		fmt.Fprintf(e.ErrOut, "saved %d objects to %s\n", snap.Objects(), written)
		if written != path {
			fmt.Fprintf(e.ErrOut, "the read was incomplete: %s was left as it was (--force replaces it)\n", path)
		}
	}
	if !snap.Info.Complete() {
		for _, s := range snap.Info.Skipped {
			// Reasons quote the server: escaped, they cannot rewrite the terminal.
			fmt.Fprintf(e.ErrOut, "not read: %s: %s\n", output.Text(s.Resource.Name()), output.Text(s.Reason))
		}
		for _, d := range snap.Info.DiscoveryFailures {
			fmt.Fprintf(e.ErrOut, "discovery failed: %s: %s\n", output.Text(d.GroupVersion), output.Text(d.Error))
		}
		return withExit(ExitIncomplete, nil)
	}
	return nil
}
