package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the audit verb lands.
func newAuditCommand(Streams) *cobra.Command {
	return &cobra.Command{Use: "audit", Short: "(not built yet)", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("audit: not built yet") }}
}
