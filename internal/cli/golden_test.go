package cli

import "flag"

// update rewrites the golden files of this package's tests instead of
// comparing against them: go test ./internal/cli -run TestScanGolden -update
var update = flag.Bool("update", false, "rewrite golden files")
