package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A server that accepts the connection and never answers ends every
// cluster verb with exit 2 and one line naming the server, the stage and
// the flag that sets the wait: no verb hangs.
func TestHungServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	kubeconfig := filepath.Join(t.TempDir(), "hung.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://`+l.Addr().String()+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {app: x}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"scan"},
		{"snapshot", "save", filepath.Join(t.TempDir(), "s.json")},
		{"refs", "example.org"},
		{"restart", "-A"},
		{"preflight", "helm", "r", "-f", manifest},
		{"preflight", "apply", "-f", manifest, "--prune", "-l", "app=x"},
	} {
		var out, errOut bytes.Buffer
		full := append(args, "--kubeconfig", kubeconfig, "--request-timeout", "200ms")
		code := Run(context.Background(), full, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		msg := errOut.String()
		if code != ExitError || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, l.Addr().String()) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line naming the server", args, code, msg)
		}
		t.Logf("%v: %s", args[0], strings.TrimSpace(msg))
	}
}
