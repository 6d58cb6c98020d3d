package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the checks verb lands.
func newChecksCommand(Streams) *cobra.Command {
	return &cobra.Command{Use: "checks", Short: "(not built yet)", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("checks: not built yet") }}
}
