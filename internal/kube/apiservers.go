package kube

import (
	"context"
	"fmt"
	"net"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIServerAddress is one address an API server answers on, and how it is
// known.
type APIServerAddress struct {
	// Address is host:port, as dialled.
	Address string `json:"address"`
	// Via is "kubeconfig" or "EndpointSlice default/kubernetes".
	Via string `json:"via"`
}

// maxAPIServerAddresses bounds the addresses taken from the EndpointSlices:
// a cluster has a handful of API servers.
const maxAPIServerAddresses = 64

// APIServerAddresses returns the kubeconfig's server and the addresses the
// API servers publish for Service default/kubernetes (its EndpointSlices,
// which the API servers themselves reconcile). The EndpointSlices are read
// with one LIST by label; an error reading them is returned with the
// kubeconfig's address, which is always known.
func APIServerAddresses(ctx context.Context, cfg *rest.Config, pageSize int64) ([]APIServerAddress, error) {
	out := []APIServerAddress{}
	seen := map[string]bool{}
	add := func(addr, via string) {
		if !seen[addr] && len(out) < maxAPIServerAddresses {
			seen[addr] = true
			out = append(out, APIServerAddress{Address: addr, Via: via})
		}
	}
	if addr, err := hostPort(cfg.Host); err == nil {
		add(addr, "kubeconfig")
	} else {
		return out, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return out, fmt.Errorf("client: %w", err)
	}
	_, err = List(ctx, ListOptions{PageSize: pageSize, LabelSelector: discoveryv1.LabelServiceName + "=kubernetes", MaxPages: 10},
		"EndpointSlices of Service default/kubernetes",
		Typed(cs.DiscoveryV1().EndpointSlices("default").List, func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items },
			func(slices []discoveryv1.EndpointSlice) {
				for _, s := range slices {
					port := "443"
					for _, p := range s.Ports {
						if p.Port != nil && (p.Name == nil || *p.Name == "https" || len(s.Ports) == 1) {
							port = strconv.Itoa(int(*p.Port))
							break
						}
					}
					for _, e := range s.Endpoints {
						for _, a := range e.Addresses {
							add(net.JoinHostPort(a, port), "EndpointSlice default/kubernetes")
						}
					}
				}
			}), nil)
	if err != nil {
		return out, fmt.Errorf("EndpointSlices of Service default/kubernetes: %w", err)
	}
	return out, nil
}
