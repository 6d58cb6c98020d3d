// Command premortem finds the latent conditions behind Kubernetes incidents.
package main

import (
	"os"

	"github.com/premortem/premortem/internal/cli"
)

func main() {
	stop := profile()
	code := cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
