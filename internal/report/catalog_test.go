package report_test

import (
	"bytes"
	"testing"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/report"
)

// The catalog goldens double as the expected output of `premortem checks
// list` and `checks explain` (internal/cli tests compare against them).
func TestCatalogGolden(t *testing.T) {
	for _, format := range report.CatalogFormats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteCatalog(&b, format, checks.All()); err != nil {
				t.Fatal(err)
			}
			if format == "wide" {
				// Piped, no cell of the catalog is cut: wide is the table.
				format = "table"
			}
			golden.Check(t, "testdata/checks-list."+format+".golden", b.Bytes())
		})
	}
	for _, c := range checks.All() {
		t.Run("explain/"+c.ID, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.Explain(&b, c); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/checks-explain-"+c.ID+".golden", b.Bytes())
		})
	}
}
