package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The expected output is internal/report's golden files (rewritten by
// go test ./internal/report -update): the command must print exactly what
// the renderer does, through the real flag parsing.
func TestChecksCommandGolden(t *testing.T) {
	tests := []struct {
		args   []string
		golden string
	}{
		{[]string{"checks", "list"}, "checks-list.table.golden"},
		{[]string{"checks", "list", "-o", "json"}, "checks-list.json.golden"},
		{[]string{"checks", "list", "--output", "markdown"}, "checks-list.markdown.golden"},
		{[]string{"checks", "explain", "typha-replicas"}, "checks-explain-typha-replicas.golden"},
		{[]string{"checks", "explain", "apiservice-unavailable"}, "checks-explain-apiservice-unavailable.golden"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %s", code, errOut.String())
			}
			want, err := os.ReadFile(filepath.Join("..", "report", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s", tt.golden, out.String())
			}
		})
	}
}

func TestChecksCommandErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"checks", "explain", "typha"}, "unknown check ID(s) typha"},
		{[]string{"checks", "explain"}, "accepts 1 arg"},
		{[]string{"checks", "list", "-o", "yaml"}, `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitError || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut.String(), ExitError, tt.wantErr)
			}
		})
	}
}
