package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/cli"
)

// TestAuditCompareAtLab splits the lab API server's own audit log at a
// time after which a new identity makes a known number of requests, four
// of them at once: audit --compare-at names it new, with exactly those
// requests, and nobody else's load is attributed to it.
func TestAuditCompareAtLab(t *testing.T) {
	const user = "e2e-compare-newcomer"
	kubeconfig, err := cluster.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.UserAgent = "newcomer/e2e"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	for range 12 {
		if _, err := cs.Discovery().ServerVersion(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	compare := func(args ...string) *audit.Comparison {
		t.Helper()
		code, out, stderr := runAudit(t, append([]string{"--compare-at", at.Format(time.RFC3339Nano), "-o", "json"}, args...)...)
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var c audit.Comparison
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return &c
	}
	c := compare("--user", user)
	if c.NewCount != 1 || c.GoneCount != 0 || len(c.New) != 1 || c.New[0].Name != user {
		t.Fatalf("new %+v (%d), gone %d: want only %s", c.New, c.NewCount, c.GoneCount, user)
	}
	n := c.New[0]
	if n.Before.Requests != 0 || n.After.Requests != 16 || n.After.PeakInFlight < 1 || n.After.PeakInFlight > 4 || n.After.QuerySeconds <= 0 {
		t.Errorf("%s: %+v", user, n)
	}
	if len(c.VerbResources) != 1 || c.VerbResources[0].Name != "get /version" || c.VerbResources[0].After.Requests != 16 {
		t.Errorf("verb and resource %+v, want get /version ×16", c.VerbResources)
	}
	// Unfiltered: the lab's other clients are on both sides, the newcomer
	// is among the new.
	all := compare("--top", "1000")
	found := false
	for _, ch := range all.New {
		found = found || ch.Name == user && ch.After.Requests == 16
	}
	if !found || all.Before.Requests == 0 || all.After.Requests < 16 {
		t.Errorf("unfiltered: newcomer found %v, before %d after %d requests", found, all.Before.Requests, all.After.Requests)
	}
}
