package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/output/outputtest"
)

// evil is cluster or file data that tries to forge a line and rewrite the
// terminal.
const evil = "web\npremortem: forged line\x1b[2J\x1b]0;owned\x07"

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, Streams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// A snapshot file's name and content reach the warnings and the error.
func TestSnapshotProblemsEscaped(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, evil+".json"), []byte("{not json"), 0o600); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	good := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"}}`
	if err := os.WriteFile(filepath.Join(dir, "good.json"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("scan", "--snapshot", dir)
	if !strings.Contains(stderr, "warning") {
		t.Fatalf("exit %d, no warning:\n%s", code, stderr)
	}
	outputtest.CheckEscaped(t, "warning", stderr, "premortem: forged")

	code, _, stderr = runCLI("scan", "--snapshot", filepath.Join(dir, "missing", evil))
	if code != ExitError {
		t.Fatalf("missing file: exit %d\n%s", code, stderr)
	}
	outputtest.CheckEscaped(t, "error", stderr, "premortem: forged")
}

// A server's error messages reach "not read" lines.
func TestSnapshotSaveNotReadEscaped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			w.Write([]byte(`{"major":"1","minor":"30","gitVersion":"v1.30.0"}`))
		case "/api":
			w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
		case "/apis":
			w.Write([]byte(`{"kind":"APIGroupList","groups":[]}`))
		case "/api/v1":
			w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[` +
				`{"name":"pods","namespaced":true,"kind":"Pod","verbs":["list"]}]}`))
		default:
			w.WriteHeader(http.StatusForbidden)
			msg, _ := json.Marshal(evil)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":` + string(msg) + `}`))
		}
	}))
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "+srv.URL+"}\n"+
		"contexts:\n- name: c\n  context: {cluster: c}\ncurrent-context: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("snapshot", "save", "--kubeconfig", kc, filepath.Join(t.TempDir(), "s.json"))
	if !strings.Contains(stderr, "not read: pods") {
		t.Fatalf("exit %d, pods not said to be unread:\n%s", code, stderr)
	}
	outputtest.CheckEscaped(t, "not read", stderr, "premortem: forged")
}

// The errors of an errors.Join keep a line each.
func TestJoinedErrorsKeepTheirLines(t *testing.T) {
	code, _, stderr := runCLI("refs", "--snapshot", "testdata/refs/dump.yaml", "not a host", "not\x1b[2J either")
	want := "premortem: \"not a host\" is neither an IP address nor a hostname\n" +
		`"not\x1b[2J either" is neither an IP address nor a hostname` + "\n"
	if code != ExitError || stderr != want {
		t.Errorf("exit %d, stderr\n%s\nwant\n%s", code, stderr, want)
	}
}
