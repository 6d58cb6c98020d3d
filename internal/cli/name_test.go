package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandName(t *testing.T) {
	for _, tc := range []struct{ argv0, want string }{
		{"premortem", "premortem"},
		{"/usr/local/bin/premortem", "premortem"},
		{"/home/u/.krew/bin/kubectl-premortem", "kubectl premortem"},
		{`C:\krew\bin\kubectl-premortem.exe`, "kubectl premortem"},
		{"kubectl-premortem.exe", "kubectl premortem"},
		{"kubectl-premortem-old", "premortem"},
		{"kubectl", "premortem"},
	} {
		if got := commandName(filepath.FromSlash(strings.ReplaceAll(tc.argv0, `\`, "/"))); got != tc.want {
			t.Errorf("commandName(%q) = %q, want %q", tc.argv0, got, tc.want)
		}
	}
}

// As a kubectl plugin, help, usage, examples and errors name the command
// "kubectl premortem"; run as premortem, nothing changes.
func TestPluginName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		out    []string // substrings of stdout
		errOut []string // substrings of stderr
		not    string   // in neither, for the plugin's name
	}{
		{name: "kubectl premortem", args: []string{"scan", "--help"}, out: []string{
			"  kubectl premortem scan [flags]", "  kubectl premortem scan --context prod",
			"&& kubectl premortem scan --snapshot"}, not: "\n  premortem "},
		{name: "kubectl premortem", args: []string{"--help"}, out: []string{
			"kubectl premortem [command]", `Use "kubectl premortem [command] --help"`}},
		{name: "kubectl premortem", args: []string{"scan", "--bogus"}, code: ExitError,
			errOut: []string{"kubectl premortem: unknown flag: --bogus"}},
		{name: "kubectl premortem", args: []string{"nosuchverb"}, code: ExitError,
			errOut: []string{`kubectl premortem: unknown command "nosuchverb" for "kubectl premortem"`}},
		{name: "", args: []string{"scan", "--help"}, out: []string{"  premortem scan [flags]", "  premortem scan --context prod"},
			not: "kubectl premortem"},
		{name: "", args: []string{"nosuchverb"}, code: ExitError,
			errOut: []string{`premortem: unknown command "nosuchverb" for "premortem"`}, not: "kubectl premortem"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), tc.args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut, Name: tc.name})
		if code != tc.code {
			t.Errorf("%q %v: exit %d, want %d (stderr %q)", tc.name, tc.args, code, tc.code, errOut.String())
		}
		for _, s := range tc.out {
			if !strings.Contains(out.String(), s) {
				t.Errorf("%q %v: stdout lacks %q:\n%s", tc.name, tc.args, s, out.String())
			}
		}
		for _, s := range tc.errOut {
			if !strings.Contains(errOut.String(), s) {
				t.Errorf("%q %v: stderr lacks %q:\n%s", tc.name, tc.args, s, errOut.String())
			}
		}
		if tc.not != "" && strings.Contains(out.String()+errOut.String(), tc.not) {
			t.Errorf("%q %v: output has %q:\n%s%s", tc.name, tc.args, tc.not, out.String(), errOut.String())
		}
	}
}

// The built binary, linked as kubectl-premortem (as krew installs it),
// reads its name from argv[0].
func TestPluginBinaryName(t *testing.T) {
	if testing.Short() {
		t.Skip("builds premortem")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "premortem")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/premortem").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	link := filepath.Join(dir, "kubectl-premortem")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{bin: "premortem: unknown flag: --bogus", link: "kubectl premortem: unknown flag: --bogus"} {
		out, err := exec.Command(path, "scan", "--bogus").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitError {
			t.Errorf("%s scan --bogus: %v, want exit %d", filepath.Base(path), err, ExitError)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s scan --bogus: %q, want %q", filepath.Base(path), got, want)
		}
	}
}
