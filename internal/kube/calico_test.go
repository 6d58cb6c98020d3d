package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/snapshot"
)

// TestCalicoBGPKindsRoundTrip: Calico's BGP kinds survive a snapshot file,
// and a duration Calico would reject is kept as written instead of making
// the whole kind unreadable.
func TestCalicoBGPKindsRoundTrip(t *testing.T) {
	off := false
	in := &snapshot.Snapshot{
		Namespaces:        []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}},
		BGPConfigurations: []snapshot.BGPConfiguration{{ObjectMeta: metav1.ObjectMeta{Name: "default"}, NodeToNodeMeshEnabled: &off, NodeMeshMaxRestartTime: "90s"}},
		BGPPeers: []snapshot.BGPPeer{
			{ObjectMeta: metav1.ObjectMeta{Name: "core-router-1"}, PeerIP: "10.0.0.1", NodeSelector: "all()", MaxRestartTime: "2m"},
			{ObjectMeta: metav1.ObjectMeta{Name: "odd"}, PeerIP: "10.0.0.2", MaxRestartTime: "soon"},
		},
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if _, err := SaveFile(path, in, AllResources(), SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Load([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	out := res.Snapshot
	if !reflect.DeepEqual(out.BGPConfigurations, in.BGPConfigurations) || !reflect.DeepEqual(out.BGPPeers, in.BGPPeers) {
		t.Errorf("round trip:\n got %+v %+v\nwant %+v %+v", out.BGPConfigurations, out.BGPPeers, in.BGPConfigurations, in.BGPPeers)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"kind":"BGPPeer"`) {
		t.Errorf("the file does not name the kind BGPPeer: %v", err)
	}
}
