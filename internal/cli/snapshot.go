package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
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
			return saveSnapshot(cmd.Context(), e, flags, args[0])
		},
	}
	flags.AddFlags(cmd.Flags())
	return cmd
}

func saveSnapshot(ctx context.Context, e *env, flags *kube.Flags, path string) error {
	limitMemory()
	// Everything premortem reads, and whatever any check reads beyond it,
	// so a scan of the file finds every kind a live scan would.
	want := append(kube.AllResources(), kube.NeedOf(checks.All()).Want...)
	rr, err := readLive(ctx, e, flags, want)
	if err != nil {
		return err
	}
	snap := rr.Snapshot
	if path == "-" {
		err = kube.Save(e.Out, snap, rr.Covered)
	} else {
		err = kube.SaveFile(path, snap, rr.Covered)
	}
	if err != nil {
		return withExit(ExitError, err)
	}
	if path != "-" {
		fmt.Fprintf(e.ErrOut, "saved %d objects to %s\n", countObjects(snap), path)
	}
	if !snap.Info.Complete() {
		for _, s := range snap.Info.Skipped {
			fmt.Fprintf(e.ErrOut, "not read: %s: %s\n", s.Resource.Name(), s.Reason)
		}
		for _, d := range snap.Info.DiscoveryFailures {
			fmt.Fprintf(e.ErrOut, "discovery failed: %s: %s\n", d.GroupVersion, d.Error)
		}
		return withExit(ExitIncomplete, nil)
	}
	return nil
}
