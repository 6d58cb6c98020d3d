package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// StopAPIServer stops the lab's kube-apiserver, as an outage would: its
// clients see their watches end and their requests refused until
// StartAPIServer. etcd and the other components keep running.
func (c *Cluster) StopAPIServer() error {
	i := c.apiServer()
	if i < 0 {
		return errors.New("lab: no kube-apiserver")
	}
	comp := c.components[i]
	if comp.exited() {
		return errors.New("lab: kube-apiserver is not running")
	}
	return comp.stop(10 * time.Second)
}

// StartAPIServer starts the kube-apiserver StopAPIServer stopped, with the
// same flags (so the same port, certificates and audit log, which it
// appends to), and waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	i := c.apiServer()
	if i < 0 {
		return errors.New("lab: no kube-apiserver")
	}
	old := c.components[i]
	if !old.exited() {
		return errors.New("lab: kube-apiserver is running")
	}
	restarts := strings.Count(old.name, "+") + 1
	comp, err := startComponent(c.Dir, fmt.Sprintf("kube-apiserver%s", strings.Repeat("+", restarts)), old.cmd.Path, old.cmd.Args[1:])
	if err != nil {
		return err
	}
	c.components[i] = comp
	return waitFor(ctx, 60*time.Second, comp, "kube-apiserver /readyz", c.apiServerReady(ctx))
}

// apiServerReady reports whether the API server's /readyz says ok.
func (c *Cluster) apiServerReady(ctx context.Context) func() bool {
	return func() bool {
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && strings.TrimSpace(string(body)) == "ok"
	}
}

// apiServer is the index of the kube-apiserver among the components.
func (c *Cluster) apiServer() int {
	for i, comp := range c.components {
		if strings.HasPrefix(comp.name, "kube-apiserver") {
			return i
		}
	}
	return -1
}
