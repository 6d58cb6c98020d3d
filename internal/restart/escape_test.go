package restart

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/output/outputtest"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// evil is cluster data (a name in a crafted snapshot, a server's error)
// that tries to forge a row and rewrite the terminal.
const evil = outputtest.Evil

func TestWritePlanEscapesClusterData(t *testing.T) {
	p := plan(t, cluster{deployments: []appsv1.Deployment{
		deployment("shop", evil, 2), deployment("shop", "api", 2, runAnnotated(evil)),
	}}.snapshot(), Options{})
	var b bytes.Buffer
	if err := WritePlan(&b, "table", p); err != nil {
		t.Fatal(err)
	}
	outputtest.CheckEscaped(t, "plan table", b.String(), "| forged")
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
	outputtest.CheckEscaped(t, "progress", progress.String(), "| forged")
}
