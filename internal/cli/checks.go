package cli

import (
	"github.com/spf13/cobra"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/report"
)

func newChecksCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List and explain the check catalog",
		Long: `The checks premortem scan runs. docs/reference/checks.md is generated from
the same declarations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newChecksListCommand(e), newChecksExplainCommand(e))
	return cmd
}

func newChecksListCommand(e *env) *cobra.Command {
	var output *outputFlag
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every check: ID, default severity, category, incidents, title",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return report.WriteCatalog(e.Out, output.value, checks.All())
		},
	}
	output = addOutputFlag(cmd.Flags(), report.CatalogFormats, "output")
	return cmd
}

func newChecksExplainCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "explain CHECK-ID",
		Short: "Explain one check: what it looks for, why, how to fix it, its parameters",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var ids []string
			for _, c := range checks.All() {
				ids = append(ids, c.ID)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			c, ok := checks.Lookup(args[0])
			if !ok {
				_, err := checks.Select([]string{args[0]}, nil)
				return withExit(ExitError, err)
			}
			return report.Explain(e.Out, c)
		},
	}
}
