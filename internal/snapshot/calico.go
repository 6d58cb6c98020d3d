package snapshot

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Calico's BGP kinds, read when the cluster serves them: they say how long
// the BGP peers keep a restarting node's routes (its graceful-restart
// window), which `premortem restart` waits within (incident 003).
var (
	BGPConfigurations = Resource{Group: "crd.projectcalico.org", Version: "v1", Resource: "bgpconfigurations", Kind: "BGPConfiguration"}
	BGPPeers          = Resource{Group: "crd.projectcalico.org", Version: "v1", Resource: "bgppeers", Kind: "BGPPeer"}
)

// BGPConfiguration is the part of a Calico BGPConfiguration premortem uses.
// Durations are kept as written ("120s"): a value Calico would reject must
// not make the whole kind unreadable.
type BGPConfiguration struct {
	metav1.ObjectMeta `json:"metadata"`
	// NodeToNodeMeshEnabled: nil means Calico's default, enabled.
	NodeToNodeMeshEnabled *bool `json:"nodeToNodeMeshEnabled,omitempty"`
	// NodeMeshMaxRestartTime is the graceful-restart time of the node mesh
	// peerings; "" means BIRD's default, 120s.
	NodeMeshMaxRestartTime string `json:"nodeMeshMaxRestartTime,omitempty"`
}

// BGPPeer is the part of a Calico BGPPeer premortem uses.
type BGPPeer struct {
	metav1.ObjectMeta `json:"metadata"`
	Node              string `json:"node,omitempty"`
	NodeSelector      string `json:"nodeSelector,omitempty"`
	PeerIP            string `json:"peerIP,omitempty"`
	PeerSelector      string `json:"peerSelector,omitempty"`
	// MaxRestartTime is the graceful-restart time of this peering; ""
	// means BIRD's default, 120s.
	MaxRestartTime string `json:"maxRestartTime,omitempty"`
}
