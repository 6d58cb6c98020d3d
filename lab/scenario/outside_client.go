package scenario

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Incident 002's checker ran on a VM with a kubeconfig nobody knew about:
// the API server's audit log is the one place it shows. In the lab every
// client connects from loopback, so the scenario's clients say where they
// come from with X-Forwarded-For, which the API server records first in
// sourceIPs (as it does behind a proxy or load balancer).
var _ = register(Scenario{
	Name: "002-outside-client", Incident: "002", apply: outsideClient,
	Summary: "a checker identity calling the API server from a VM address (198.51.100.7) that is neither a node nor a pod, next to an in-cluster agent calling from a pod's IP",
})

// Addresses and identities of the scenario, for the e2e test.
const (
	OutsideClientUser      = "toolschecker"
	OutsideClientAddress   = "198.51.100.7"
	OutsideClientUserAgent = "toolschecker/0.9 python-requests/2.21.0"
	InClusterClientUser    = "tool-checker-agent"
)

func outsideClient(ctx context.Context, e *env) error {
	if err := removedName(ctx, e); err != nil { // the checker's namespace and Deployment
		return err
	}
	pods, err := waitPods(ctx, e, "tool-checker", "app=toolschecker", 90*time.Second, func(pods []corev1.Pod) bool {
		return len(pods) > 0 && pods[0].Status.PodIP != ""
	})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		user, ua, from string
	}{
		{OutsideClientUser, OutsideClientUserAgent, OutsideClientAddress},
		{InClusterClientUser, "tool-checker-agent/1.0", pods[0].Status.PodIP},
	} {
		if err := callFrom(ctx, e, c.user, c.ua, c.from); err != nil {
			return fmt.Errorf("%s: %w", c.user, err)
		}
	}
	return nil
}

// callFrom makes a few discovery requests as user (a client certificate:
// nothing is created in the cluster) claiming to come from addr.
func callFrom(ctx context.Context, e *env, user, userAgent, addr string) error {
	kubeconfig, err := e.cluster.UserKubeconfig(user)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = userAgent
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("X-Forwarded-For", addr)
			return rt.RoundTrip(r)
		})
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for range 3 {
		if _, err := cs.Discovery().ServerVersion(); err != nil {
			return err
		}
	}
	_, err = cs.Discovery().RESTClient().Get().AbsPath("/api").DoRaw(ctx)
	return err
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
