package kube

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/premortem/premortem/internal/snapshot"
)

// crdObject is the wire form of a custom resource whose spec premortem
// reads: metadata and the spec fields of S.
type crdObject[S any] struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            S                 `json:"spec"`
}

// jsonList lists one page of a cluster-scoped kind premortem has no Go
// types for, as JSON through a raw request (APIServices, Calico's kinds).
func jsonList[O any](ctx context.Context, c *clients, res snapshot.Resource, opts metav1.ListOptions) (metav1.ListMeta, []O, error) {
	body, err := c.rest.Get().AbsPath("/apis", res.Group, res.Version, res.Resource).
		VersionedParams(&opts, scheme.ParameterCodec).
		SetHeader("Accept", "application/json").
		DoRaw(ctx)
	if err != nil {
		return metav1.ListMeta{}, nil, err
	}
	var l struct {
		Metadata metav1.ListMeta `json:"metadata"`
		Items    []O             `json:"items"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return metav1.ListMeta{}, nil, fmt.Errorf("decode %s: %w", res.Name(), err)
	}
	return l.Metadata, l.Items, nil
}

// crdKind reads a cluster-scoped custom resource as JSON through a raw
// request (there are no Go types for it here), keeping what toSnap keeps.
// fromSnap writes it back for a snapshot file.
func crdKind[S, T any](res snapshot.Resource, toSnap func(metav1.ObjectMeta, S) T, fromSnap func(T) (metav1.ObjectMeta, S), field func(*snapshot.Snapshot) *[]T) *kindSpec {
	conv := func(o *crdObject[S]) T {
		trimMeta(&o.Metadata)
		return toSnap(o.Metadata, o.Spec)
	}
	return &kindSpec{
		res: res,
		list: func(ctx context.Context, c *clients, _ string, opts metav1.ListOptions, _ interner) (page, string, error) {
			meta, items, err := jsonList[crdObject[S]](ctx, c, res, opts)
			if err != nil {
				return page{}, "", err
			}
			out := make([]T, len(items))
			for i := range items {
				out[i] = conv(&items[i])
			}
			return page{items: out, n: len(out), remaining: remainingOf(&meta), rv: meta.ResourceVersion}, meta.Continue, nil
		},
		decode: func(raw []byte, _ interner) (page, error) {
			var o crdObject[S]
			if err := json.Unmarshal(raw, &o); err != nil {
				return page{}, err
			}
			return page{items: []T{conv(&o)}, n: 1}, nil
		},
		add: func(s *snapshot.Snapshot, p page) {
			f := field(s)
			*f = append(*f, p.items.([]T)...)
		},
		reset: func(s *snapshot.Snapshot) { *field(s) = nil },
		objects: func(s *snapshot.Snapshot, emit func(any) error) error {
			for _, t := range *field(s) {
				o := crdObject[S]{TypeMeta: metav1.TypeMeta{APIVersion: res.Group + "/" + res.Version, Kind: res.Kind}}
				o.Metadata, o.Spec = fromSnap(t)
				if err := emit(&o); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// bgpConfigurationSpec and bgpPeerSpec are the spec fields of Calico's BGP
// kinds premortem keeps.
type bgpConfigurationSpec struct {
	NodeToNodeMeshEnabled  *bool  `json:"nodeToNodeMeshEnabled,omitempty"`
	NodeMeshMaxRestartTime string `json:"nodeMeshMaxRestartTime,omitempty"`
}

type bgpPeerSpec struct {
	Node           string `json:"node,omitempty"`
	NodeSelector   string `json:"nodeSelector,omitempty"`
	PeerIP         string `json:"peerIP,omitempty"`
	PeerSelector   string `json:"peerSelector,omitempty"`
	MaxRestartTime string `json:"maxRestartTime,omitempty"`
}

func calicoKinds() []*kindSpec {
	return []*kindSpec{
		crdKind(snapshot.BGPConfigurations,
			func(m metav1.ObjectMeta, s bgpConfigurationSpec) snapshot.BGPConfiguration {
				return snapshot.BGPConfiguration{ObjectMeta: m, NodeToNodeMeshEnabled: s.NodeToNodeMeshEnabled, NodeMeshMaxRestartTime: s.NodeMeshMaxRestartTime}
			},
			func(c snapshot.BGPConfiguration) (metav1.ObjectMeta, bgpConfigurationSpec) {
				return c.ObjectMeta, bgpConfigurationSpec{NodeToNodeMeshEnabled: c.NodeToNodeMeshEnabled, NodeMeshMaxRestartTime: c.NodeMeshMaxRestartTime}
			},
			func(s *snapshot.Snapshot) *[]snapshot.BGPConfiguration { return &s.BGPConfigurations }),
		crdKind(snapshot.BGPPeers,
			func(m metav1.ObjectMeta, s bgpPeerSpec) snapshot.BGPPeer {
				return snapshot.BGPPeer{ObjectMeta: m, Node: s.Node, NodeSelector: s.NodeSelector, PeerIP: s.PeerIP, PeerSelector: s.PeerSelector, MaxRestartTime: s.MaxRestartTime}
			},
			func(p snapshot.BGPPeer) (metav1.ObjectMeta, bgpPeerSpec) {
				return p.ObjectMeta, bgpPeerSpec{Node: p.Node, NodeSelector: p.NodeSelector, PeerIP: p.PeerIP, PeerSelector: p.PeerSelector, MaxRestartTime: p.MaxRestartTime}
			},
			func(s *snapshot.Snapshot) *[]snapshot.BGPPeer { return &s.BGPPeers }),
	}
}
