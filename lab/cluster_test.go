package lab

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCloseLeavesNothingBehind starts a full lab, then proves Close stops
// every process, frees every port and removes the directory.
func TestCloseLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := Start(ctx, Options{ControllerManager: true, Scheduler: true, Kwok: true, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lab with every component ready in %s", time.Since(start).Round(time.Millisecond))
	if err := c.AddNodes(ctx, NodeSpec{Name: "node-a", KernelVersion: "5.4.0"}); err != nil {
		c.Close()
		t.Fatal(err)
	}
	n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil || n.Status.NodeInfo.KernelVersion != "5.4.0" {
		c.Close()
		t.Fatalf("node-a: kernel %q, err %v", n.Status.NodeInfo.KernelVersion, err)
	}

	var pids []int
	for _, comp := range c.components {
		pids = append(pids, comp.cmd.Process.Pid)
	}
	if len(pids) != 5 {
		t.Errorf("want 5 components, got %d", len(pids))
	}
	ports := c.ports
	dir := c.Dir
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
	for _, port := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d still in use after Close: %v", port, err)
			continue
		}
		l.Close()
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab directory %s still exists after Close", dir)
	}
}

func TestMissingBinaryNamesTheMakeTarget(t *testing.T) {
	t.Setenv("PREMORTEM_LAB_BIN", t.TempDir())
	_, err := Start(context.Background(), Options{})
	var missing *errMissingBinary
	if !errors.As(err, &missing) || missing.name != "etcd" {
		t.Fatalf("want a missing etcd error, got %v", err)
	}
	if want := "make lab-bins"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestUnmanagedNodeKeepsItsCondition: a NotReady node whose kubelet is alive
// (its Lease renewed by the lab) keeps the reason the lab wrote, past the
// node-lifecycle controller's grace period, instead of turning Unknown.
func TestUnmanagedNodeKeepsItsCondition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and waits past the node grace period")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{ControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const msg = "container runtime is down: PLEG is not healthy"
	if err := c.AddNodes(ctx, NodeSpec{Name: "hung", Unmanaged: true, NotReady: true, NotReadyMessage: msg}); err != nil {
		t.Fatal(err)
	}
	// The controller-manager's default node-monitor-grace-period is 40 s.
	time.Sleep(50 * time.Second)
	n, err := c.Client.CoreV1().Nodes().Get(ctx, "hung", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == "Ready" {
			if cond.Status != "False" || cond.Message != msg {
				t.Errorf("Ready condition after the grace period: %s %q", cond.Status, cond.Message)
			}
			return
		}
	}
	t.Error("no Ready condition")
}
