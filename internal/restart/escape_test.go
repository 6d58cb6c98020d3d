package restart

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// evil is cluster data (a name in a crafted snapshot, a server's error)
// that tries to forge a row and rewrite the terminal.
const evil = "web\n| forged | row |\x1b[2J\x1b]0;owned\x07"

func checkEscaped(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, `\x1b[2J`) {
		t.Fatalf("%s: the cluster's text is not there, escaped:\n%s", what, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("%s: control byte %#x at %d:\n%s", what, c, i, out)
		}
	}
	if strings.Contains(out, "\n| forged") {
		t.Errorf("%s: a forged row starts a line:\n%s", what, out)
	}
}

func TestWritePlanEscapesClusterData(t *testing.T) {
	p := plan(t, cluster{deployments: []appsv1.Deployment{
		deployment("shop", evil, 2), deployment("shop", "api", 2, runAnnotated(evil)),
	}}.snapshot(), Options{})
	var b bytes.Buffer
	if err := WritePlan(&b, "table", p); err != nil {
		t.Fatal(err)
	}
	checkEscaped(t, "plan table", b.String())
}

func TestExecuteProgressEscapesClusterData(t *testing.T) {
	d := deployment("shop", evil, 2)
	client := fake.NewClientset(&d)
	client.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New(evil)
	})
	p := plan(t, cluster{deployments: []appsv1.Deployment{d}}.snapshot(), Options{})
	var progress bytes.Buffer
	e := &Executor{Client: client, Timeout: time.Second, Progress: &progress}
	if _, err := e.Execute(context.Background(), p); err == nil {
		t.Fatal("Execute: want the PATCH's error")
	}
	checkEscaped(t, "progress", progress.String())
}
