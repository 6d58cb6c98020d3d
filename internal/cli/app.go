// Package cli wires premortem's verbs to the library packages. Commands are
// thin: flags in, one call into a library, output out. Main is testable
// without a process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/output"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// Exit codes, shared by every verb and documented in the README.
const (
	ExitOK = 0
	// ExitFindings: findings at or above --fail-on (scan), references found
	// (refs), a dangerous deletion (preflight).
	ExitFindings = 1
	// ExitError: bad flags, unreadable input, unreachable cluster.
	ExitError = 2
	// ExitIncomplete: the command ran but could not read everything it needed
	// (RBAC, an unavailable API group); its output says what was skipped.
	ExitIncomplete = 3
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withExit returns an error that makes Main exit with code; a nil err exits
// silently with that code.
func withExit(code int, err error) error { return &exitError{code: code, err: err} }

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Display is how Out is laid out: Main detects it, tests set it to
	// stand for a terminal; the zero Display is a pipe.
	Display output.Display
	// Name is the command's name in help and errors: "premortem", or
	// "kubectl premortem" as a kubectl plugin (Main reads it from argv[0]);
	// empty is "premortem".
	Name string
}

// name is the command's name, "premortem" unless Name says otherwise.
func (s Streams) name() string {
	if s.Name == "" {
		return name
	}
	return s.Name
}

// Main runs premortem with args and returns the process exit code.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	// SIGTERM too (kill, a CI runner's timeout): a verb that changes the
	// cluster undoes what it must (restart's pre-pull DaemonSets) on either.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, Streams{In: in, Out: out, ErrOut: errOut, Display: output.Detect(out, os.Getenv), Name: commandName(os.Args[0])})
}

// Run is Main with a caller-supplied context, for tests.
func Run(ctx context.Context, args []string, streams Streams) int {
	root := newRootCommand(streams)
	rename(root, streams.name())
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(streams.ErrOut, "%s: %s\n", streams.name(), withHint(ee.err))
		}
		return ee.code
	}
	fmt.Fprintf(streams.ErrOut, "%s: %s\n", streams.name(), withHint(err))
	return ExitError
}

// withHint names the flags that fix an error the library reports without
// them.
func withHint(err error) string {
	var se *kube.ServerError
	switch {
	case !errors.As(err, &se):
	case se.Unreachable(), se.CredentialsRejected():
		return errorText(err) + "; check --kubeconfig/--context"
	case se.Timeout():
		return errorText(err) + "; --request-timeout sets how long to wait"
	}
	return errorText(err)
}

// errorText is err's message for the terminal. Errors quote names, files
// and server messages: escaped, they can neither forge a line nor rewrite
// the terminal. The errors of an errors.Join keep a line each.
func errorText(err error) string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var raw, lines []string
		for _, e := range j.Unwrap() {
			if e != nil {
				raw, lines = append(raw, e.Error()), append(lines, errorText(e))
			}
		}
		if len(raw) > 0 && strings.Join(raw, "\n") == err.Error() {
			return strings.Join(lines, "\n")
		}
	}
	return output.Text(err.Error())
}

// env is what every command gets: the standard streams and the logger
// that -v sets up, before any command runs, for the libraries it calls.
type env struct {
	Streams
	log *slog.Logger
	// verbose is the -v count.
	verbose int
}

func newRootCommand(streams Streams) *cobra.Command {
	var verbose int
	color := &choiceFlag{name: "color", choices: output.ColorModes, value: "auto"}
	e := &env{Streams: streams, log: slog.New(slog.DiscardHandler)}
	root := &cobra.Command{
		Use:   "premortem",
		Short: "Find the latent conditions behind Kubernetes incidents before they page anyone",
		Long: `premortem reads a cluster (live, or an offline snapshot) and names the latent
conditions that preceded real outages, with the evidence and the fix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			e.log, e.verbose = newLogger(streams.ErrOut, verbose), verbose
			// Out carries its Display (--color applied) to every text
			// writer; the flag's values were checked when it was parsed.
			d, _ := streams.Display.WithColor(color.value)
			e.Out = output.WithDisplay(streams.Out, d)
			// client-go logs through klog, straight to stderr unless told
			// otherwise: its lines are premortem's -v output, none without.
			if verbose > 0 {
				klog.SetSlogLogger(e.log)
			} else {
				klog.SetSlogLogger(slog.New(slog.DiscardHandler))
			}
		},
	}
	root.PersistentFlags().CountVarP(&verbose, "verbose", "v", "log more to stderr (-v info, -vv debug)")
	root.PersistentFlags().Var(color, "color", "color severities: `WHEN` auto (on a terminal, unless NO_COLOR is set), always or never")
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newScanCommand(e),
		newSnapshotCommand(e),
		newChecksCommand(e),
		newAuditCommand(e),
		newRestartCommand(e),
		newRefsCommand(e),
		newPreflightCommand(e),
		newAgentCommand(e),
		newMeasureCommand(e),
		newVersionCommand(streams),
	)
	return root
}

// newLogger logs warnings to w, and more with each -v.
func newLogger(w io.Writer, verbose int) *slog.Logger {
	level := slog.LevelWarn
	if verbose > 0 {
		level = slog.LevelInfo
	}
	if verbose > 1 {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
