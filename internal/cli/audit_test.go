package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The expected output is internal/audit's golden files (rewritten by
// go test ./internal/audit -run TestGolden -update): the command must print
// exactly what the library renders, through the real flag parsing.
func TestAuditCommandGolden(t *testing.T) {
	// Run where the library's golden test runs, so paths print the same.
	t.Chdir("../audit")
	const dir = "testdata/"
	tests := []struct {
		args   []string
		golden string
	}{
		{[]string{"load.log"}, "load.table.golden"},
		{[]string{"load.log", "-o", "json", "--top", "5"}, "load.json.golden"},
		{[]string{"load.log", "-o", "html", "--top", "5"}, "load.html.golden"},
		{[]string{"load.log", "--verb", "list", "--user-agent", "nodegroup-*", "--top", "3"}, "load-filtered.table.golden"},
		{[]string{"incident004.log", "--deleted", "namespace/team-a"}, "deleted-team-a.table.golden"},
		{[]string{"incident004.log", "--deleted", "namespace/team-a", "-o", "json"}, "deleted-team-a.json.golden"},
		{[]string{"incident004.log", "--deleted", "namespace/team-a", "-o", "html"}, "deleted-team-a.html.golden"},
		{[]string{"bad.log"}, "bad.table.golden"},
		{[]string{"load.log", "bad.log", "--top", "3"}, "two-inputs.table.golden"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := []string{"audit"}
			for _, a := range tt.args {
				if strings.HasSuffix(a, ".log") {
					a = dir + a
				}
				args = append(args, a)
			}
			var out, errOut bytes.Buffer
			code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %s", code, errOut.String())
			}
			want, err := os.ReadFile(filepath.Join(dir, tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if got != string(want) {
				t.Errorf("output differs from %s:\n%s", tt.golden, got)
			}
		})
	}
}

func TestAuditCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"audit"}, ExitError, "requires at least 1 arg"},
		{[]string{"audit", "no-such-file.log"}, ExitError, "no-such-file.log"},
		{[]string{"audit", "../audit/testdata/load.log", "-o", "yaml"}, ExitError, "want table, wide, json or html"},
		{[]string{"audit", "../audit/testdata/load.log", "--since", "last tuesday"}, ExitError, "neither an RFC 3339 time nor a duration"},
		{[]string{"audit", "../audit/testdata/load.log", "--deleted", "team-a"}, ExitError, "want namespace/NAME"},
		{[]string{"audit", "../audit/testdata/load.log", "--deleted", ""}, ExitError, "--deleted: deleted object \"\": empty part; want namespace/NAME or KIND/NAMESPACE/NAME"},
		{[]string{"audit", "../audit/testdata/load.log", "--since", "-2h"}, ExitError, "not a negative one"},
		{[]string{"audit", "../audit/testdata/load.log", "--since", "2024-05-28T14:00:00Z", "--until", "2024-05-28T12:00:00Z"}, ExitError, "is not before --until"},
		{[]string{"audit", "../audit/testdata/load.log", "--top", "0"}, ExitError, "--top 0: want at least 1"},
		{[]string{"audit", "../checks/checks.go"}, ExitError, "no audit event in the input"},
		{[]string{"audit", "-"}, ExitError, "no audit event in the input (0 lines"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != tt.code || !strings.Contains(errOut.String(), tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tt.code, tt.msg)
			}
		})
	}
}

// A truncated gzip input is reported and exits 3 (incomplete), with the
// report of what was read on stdout; stdin works as an input.
func TestAuditCommandTruncatedStdin(t *testing.T) {
	log, err := os.ReadFile("../audit/testdata/load.log")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := newGzipWriter(&z)
	zw.Write(log)
	zw.Close()
	cut := z.Bytes()[:z.Len()*2/3]
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"audit", "-", "-o", "json"}, Streams{In: bytes.NewReader(cut), Out: &out, ErrOut: &errOut})
	if code != ExitIncomplete || !strings.Contains(errOut.String(), "ends unexpectedly") || !strings.Contains(out.String(), `"truncated"`) {
		t.Errorf("exit %d, stderr %q, stdout %d bytes", code, errOut.String(), out.Len())
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2024, 5, 28, 14, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2h":                   now.Add(-2 * time.Hour),
		"2024-05-28T12:00:00Z": time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func newGzipWriter(w *bytes.Buffer) *gzip.Writer { return gzip.NewWriter(w) }
