package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the scan verb lands.
func newScanCommand(Streams) *cobra.Command {
	return &cobra.Command{Use: "scan", Short: "(not built yet)", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("scan: not built yet") }}
}
