package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the snapshot verb lands.
func newSnapshotCommand(Streams) *cobra.Command {
	return &cobra.Command{Use: "snapshot", Short: "(not built yet)", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("snapshot: not built yet") }}
}
