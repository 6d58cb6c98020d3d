package cli

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Command names premortem answers to. Installed as a kubectl plugin (krew
// links the binary as kubectl-premortem; `kubectl premortem` runs it), its
// help, usage lines, examples and errors say "kubectl premortem", as krew's
// best practices ask: what the user typed is what they read.
const (
	name       = "premortem"
	pluginName = "kubectl premortem"
)

// commandName is the name premortem is run as, from argv[0]: kubectl
// passes the plugin's own path (kubectl-premortem, .exe on Windows).
func commandName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if base == "kubectl-premortem" {
		return pluginName
	}
	return name
}

// exampleName matches "premortem" where it starts a command in an example.
var exampleName = regexp.MustCompile(`(^|[\s|&;(])premortem `)

// rename makes root and every command under it show as run by display:
// cobra's usage lines and command paths through the display-name
// annotation, the examples by rewriting the command that starts them.
func rename(root *cobra.Command, display string) {
	if display == "" || display == name {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = display
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Example = exampleName.ReplaceAllString(c.Example, "${1}"+display+" ")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
