package restart

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// BIRDDefaultRestartTime is the graceful-restart time Calico leaves to BIRD
// when a BGPPeer's maxRestartTime or the node mesh's nodeMeshMaxRestartTime
// is unset. BIRD advertises it to its peers, which keep a restarting node's
// routes that long and then withdraw them: in incident 003 the core routers
// did, and pod networking went down.
const BIRDDefaultRestartTime = 120 * time.Second

// BGPWindow is how long the BGP peers keep a restarting calico-node's
// routes: the shortest graceful-restart time of its peerings. Typha and
// calico-node must make progress within it.
type BGPWindow struct {
	Seconds int64 `json:"seconds"`
	// From is the peering that sets it (the shortest).
	From string `json:"from"`
	// Peerings are every peering read, shortest first.
	Peerings []BGPPeering `json:"peerings"`
}

// BGPPeering is one BGP peering and its graceful-restart time.
type BGPPeering struct {
	// Name is "node-to-node mesh" or "BGPPeer NAME".
	Name    string `json:"name"`
	Seconds int64  `json:"seconds"`
	// Setting says where the time comes from.
	Setting string `json:"setting"`
}

// windowRoles are the components whose restart the window bounds: typha,
// whose absence leaves a restarting calico-node without its configuration,
// and calico-node, which holds the BGP sessions.
var windowRoles = []workload.Role{workload.RoleTypha, workload.RoleCalicoNode}

// bgpWindow works out the window from Calico's BGPConfiguration "default"
// and the BGPPeers; nil when Calico's BGP kinds are not served (no Calico,
// or Calico without its CRDs) or could not be read, which the notes say.
func bgpWindow(snap *snapshot.Snapshot) (*BGPWindow, []string) {
	var notes []string
	served := 0
	for _, r := range []snapshot.Resource{snapshot.BGPConfigurations, snapshot.BGPPeers} {
		reason, skipped := snap.Info.SkipReason(r)
		switch {
		case !skipped:
			served++
		case reason != notServed:
			notes = append(notes, fmt.Sprintf("%s were not read (%s): the BGP graceful-restart window is unknown, so typha and calico-node are waited for with --timeout only", r.Name(), reason))
			return nil, notes
		}
	}
	if served == 0 {
		return nil, nil
	}
	parse := func(what, v string) (int64, string) {
		if v == "" {
			return int64(BIRDDefaultRestartTime / time.Second), what + " unset: BIRD's default"
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			notes = append(notes, fmt.Sprintf("%s %q is not a positive duration: counted as BIRD's default %s", what, v, BIRDDefaultRestartTime))
			return int64(BIRDDefaultRestartTime / time.Second), fmt.Sprintf("%s %q invalid: BIRD's default", what, v)
		}
		return int64(d.Round(time.Second) / time.Second), what + " " + v
	}
	w := &BGPWindow{}
	// Calico's global settings live in the BGPConfiguration named
	// "default"; without one the node mesh is on, at BIRD's default.
	mesh, meshTime := true, ""
	for _, c := range snap.BGPConfigurations {
		if c.Name == "default" {
			mesh = c.NodeToNodeMeshEnabled == nil || *c.NodeToNodeMeshEnabled
			meshTime = c.NodeMeshMaxRestartTime
		}
	}
	if mesh {
		s, setting := parse("nodeMeshMaxRestartTime", meshTime)
		w.Peerings = append(w.Peerings, BGPPeering{Name: "node-to-node mesh", Seconds: s, Setting: setting})
	}
	for _, p := range snap.BGPPeers {
		s, setting := parse("maxRestartTime", p.MaxRestartTime)
		w.Peerings = append(w.Peerings, BGPPeering{Name: "BGPPeer " + p.Name, Seconds: s, Setting: setting})
	}
	if len(w.Peerings) == 0 {
		notes = append(notes, "Calico's BGP kinds are served but no peering is configured (node-to-node mesh off, no BGPPeer): no BGP graceful-restart window applies")
		return nil, notes
	}
	slices.SortStableFunc(w.Peerings, func(a, b BGPPeering) int {
		return cmp.Or(cmp.Compare(a.Seconds, b.Seconds), cmp.Compare(a.Name, b.Name))
	})
	w.Seconds = w.Peerings[0].Seconds
	w.From = w.Peerings[0].Name + " (" + w.Peerings[0].Setting + ")"
	return w, notes
}

// notServed is the skip reason Read records for a kind the cluster does
// not serve.
const notServed = "not served by the cluster"

// windowWarnings say what in w's own settings makes a restart slower than
// the window: a container that cannot be ready within it, a startup probe
// that tolerates longer, a pull before every start, an image a new pod
// would have to pull first. prepulled: --prepull pulls the images first.
func windowWarnings(w *target, win *BGPWindow, images *imageIndex, nodesRead, prepulled bool) []string {
	var out []string
	limit := int32(win.Seconds)
	suffix := fmt.Sprintf("the BGP graceful-restart window (%ds, %s)", win.Seconds, win.From)
	for _, c := range w.Template.Spec.Containers {
		earliest, how := int32(0), ""
		if c.StartupProbe != nil {
			t := workload.Timing(c.StartupProbe)
			earliest, how = t.EarliestPass(), fmt.Sprintf("startupProbe initialDelaySeconds %d", t.InitialDelay)
			if a := t.Allowance(); a > limit {
				out = append(out, fmt.Sprintf("container %s: its startupProbe tolerates %ds of failures (initialDelaySeconds %d + failureThreshold %d × periodSeconds %d), longer than %s: a slow start is allowed past the moment the peers withdraw the routes",
					c.Name, a, t.InitialDelay, t.Failure, t.Period, suffix))
			}
		}
		if c.ReadinessProbe != nil {
			t := workload.Timing(c.ReadinessProbe)
			if e := t.EarliestPass(); e >= earliest {
				earliest, how = e, fmt.Sprintf("readinessProbe initialDelaySeconds %d + (successThreshold %d - 1) × periodSeconds %d", t.InitialDelay, t.Success, t.Period)
			}
		}
		if earliest > limit {
			out = append(out, fmt.Sprintf("container %s is ready %ds after it starts at the earliest (%s), longer than %s: the peers withdraw the routes before it is back (incident 003)",
				c.Name, earliest, how, suffix))
		}
	}
	for _, c := range append(slices.Clone(w.Template.Spec.InitContainers), w.Template.Spec.Containers...) {
		if c.ImagePullPolicy == corev1.PullAlways && !prepulled {
			out = append(out, fmt.Sprintf("container %s: imagePullPolicy Always: every new pod asks the registry for %s before it starts, and a slow registry counts against %s", c.Name, c.Image, suffix))
		}
	}
	if nodesRead && w.ref.Kind != DaemonSet && !prepulled {
		cands := images.candidateNodes(w.Template, false)
		for _, img := range templateImages(w.Template) {
			if a := images.lookup(cands, img); a.missing > 0 {
				out = append(out, fmt.Sprintf("image %s is not on %d of %d nodes a new pod can land on: its pull counts against %s; --prepull pulls it there first",
					img, a.missing, a.candidates, suffix))
			}
		}
	}
	return out
}

// windowText is the plan's one-line account of the window.
func windowText(w *BGPWindow) []string {
	lines := []string{fmt.Sprintf("%ds, set by %s: typha and calico-node must make progress within it, or the run stops", w.Seconds, w.From)}
	if len(w.Peerings) > 1 {
		var ps []string
		for _, p := range w.Peerings {
			ps = append(ps, fmt.Sprintf("%s %ds", p.Name, p.Seconds))
		}
		lines = append(lines, "peerings: "+strings.Join(ps, ", "))
	}
	return lines
}
