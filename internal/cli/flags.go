package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
	"github.com/premortem/premortem/internal/sizelimit"
)

// usageError is a flag value premortem's own flag types refuse; its text
// names the flag and what it accepts, and is shown as it is.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// flagError turns a flag parse error into exit 2, with our own flag types'
// message unwrapped from pflag's "invalid argument ... for ... flag".
func flagError(_ *cobra.Command, err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return withExit(ExitError, ue)
	}
	return withExit(ExitError, err)
}

// outputFlag is every verb's -o/--output: one of the formats the verb's
// writer supports, refused when flags are parsed if it is not.
type outputFlag = choiceFlag

// addOutputFlag registers -o/--output on fs, defaulting to the first format.
func addOutputFlag(fs *pflag.FlagSet, formats output.Formats, what string) *outputFlag {
	o := &choiceFlag{name: "output", choices: formats, value: formats.Default()}
	fs.VarP(o, "output", "o", what+" `FORMAT`: "+formats.String())
	return o
}

// choiceFlag is a flag whose value is one of a few words (-o, --color).
type choiceFlag struct {
	name    string
	choices output.Formats
	value   string
}

func (c *choiceFlag) String() string { return c.value }
func (c *choiceFlag) Type() string   { return "string" }

func (c *choiceFlag) Set(s string) error {
	if c.choices.Check(s) != nil {
		return &usageError{fmt.Sprintf("--%s %q: want %s", c.name, s, c.choices)}
	}
	c.value = s
	return nil
}

// pathsFlag is a repeatable, comma-separated list of files or directories
// (--snapshot). An empty value is refused: `--snapshot ""` from a script
// whose variable was unset must not become a live scan of the cluster.
type pathsFlag struct {
	name  string
	paths []string
}

func addPathsFlag(fs *pflag.FlagSet, name, usage string) *pathsFlag {
	p := &pathsFlag{name: name}
	fs.Var(p, name, usage)
	return p
}

func (p *pathsFlag) String() string { return strings.Join(p.paths, ",") }
func (p *pathsFlag) Type() string   { return "paths" }

func (p *pathsFlag) Set(s string) error {
	for _, path := range strings.Split(s, ",") {
		if strings.TrimSpace(path) == "" {
			return &usageError{fmt.Sprintf("--%s %q: want a file or directory path", p.name, s)}
		}
		p.paths = append(p.paths, path)
	}
	return nil
}

// addLimitFlags registers the flags that raise the size maxima of snapshot
// files (--snapshot, --baseline), set to their defaults.
func addLimitFlags(fs *pflag.FlagSet, lim *kube.Limits) {
	*lim = kube.DefaultLimits
	fs.Var(&lim.Document, "max-document-size", "largest `SIZE` of one YAML document of a snapshot file, or of a JSON object's fields but a list's items")
	fs.Var(&lim.Item, "max-item-size", "largest `SIZE` of one item of a JSON list in a snapshot file")
	fs.Var(&lim.Input, "max-input-size", "largest `SIZE` of one input file, decompressed")
}

// withLimitHint names the flag that raises the maximum err went past, if
// any (libraries name no flags).
func withLimitHint(err error) error {
	var se *sizelimit.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%w (--max-%s-size raises the maximum)", err, se.Limit)
	}
	return err
}

// warn prints one warning line on stderr, escaped: warnings quote paths
// and file contents, which must not rewrite the terminal.
func (e *env) warn(msg string) {
	fmt.Fprintf(e.ErrOut, "%s: warning: %s\n", e.name(), output.Text(msg))
}
